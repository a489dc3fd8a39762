// The shell: who is signed in, the menu for their roles, the language switch, and a router on location.hash.
import { h, fill } from './dom.js';
import { gql, gqlStarted, setAuthFailureHandler } from './api.js';
import { session } from './session.js';
import { LANGS, lang, resolveLang, setLang, t } from './i18n.js';
import { dateTime, setTimeZone } from './format.js';
import { errorBox, loadingBox } from './ui.js';
import * as signin from './views/signin.js';
import * as today from './views/today.js';

// The first screens (sign in, 今日) load with the shell; every other screen when first opened (a
// route's view is a module, or a function importing it), so a slow network waits for fewer files.
const orders = () => import('./views/orders.js');
const picklist = () => import('./views/picklist.js');
const pickup = () => import('./views/pickup.js');
const remind = () => import('./views/remind.js');
const groups = () => import('./views/groups.js');
const commissions = () => import('./views/commissions.js');
const purchaseOrders = () => import('./views/purchase-orders.js');
const purchaseOrder = () => import('./views/purchase-order.js');
const join = () => import('./views/join.js');
const schemaView = () => import('./views/schema.js');
const consoleView = () => import('./console/index.js');
const aftersales = () => import('./views/aftersales.js');
const share = () => import('./views/share.js');
const money = () => import('./views/money.js');

const ME = `query Me { me { userId displayName roles tenant { slug name timezone currency } } }`;

// name -> [view, who may open it (null: anyone, even signed out)]
const ROUTES = {
  signin: [signin, null],
  schema: [schemaView, null],
  join: [join, null],
  today: [today, 'leader'],
  orders: [orders, 'leader'],
  picklist: [picklist, 'leader'],
  pickup: [pickup, 'leader'],
  remind: [remind, 'leader'],
  groups: [groups, 'leader'],
  commissions: [commissions, 'leader'],
  share: [share, 'leader'],
  money: [money, 'leader'],
  'my-point': [() => import('./views/my-point.js'), 'leader'],
  'purchase-orders': [purchaseOrders, 'supplier'],
  'purchase-order': [purchaseOrder, 'supplier'],
  console: [consoleView, 'admin'],
  aftersales: [aftersales, 'leader'],
};

const MENU = [
  ['today', 'nav.today', 'leader'],
  ['orders', 'nav.orders', 'leader'],
  ['pickup', 'nav.pickup', 'leader'],
  ['groups', 'nav.groups', 'leader'],
  ['commissions', 'nav.commissions', 'leader'],
  ['share', 'nav.share', 'leader'],
  ['money', 'nav.money', 'leader'],
  ['my-point', 'nav.myPoint', 'leader'],
  ['purchase-orders', 'nav.purchaseOrders', 'supplier'],
  ['aftersales', 'nav.aftersales', 'leader'],
];
ROUTES.coupons = [() => import('./views/coupons.js'), 'leader']; MENU.push(['coupons', 'nav.coupons', 'leader']);
// An admin gets the console's screens instead (the leader's and supplier's views stay reachable by link),
// known once the console is loaded (before an admin's first screen).
let ADMIN_MENU = [];
async function loadConsoleMenu() {
  if (ADMIN_MENU.length) return;
  const { SCREENS } = await consoleView();
  ADMIN_MENU = SCREENS.map(([name, key]) => [`console/${name}`, key, 'admin']);
}

const state = { me: null, cleanup: null, flash: null };

function audiences(me) {
  const roles = new Set((me && me.roles) || []);
  const admin = roles.has('TENANT_ADMIN') || roles.has('PLATFORM_ADMIN');
  return { admin, leader: admin || roles.has('LEADER'), supplier: admin || roles.has('SUPPLIER') };
}

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const [path, search = ''] = raw.split('?');
  const [name, ...params] = path.split('/').filter(Boolean);
  return { name: name || '', params, query: Object.fromEntries(new URLSearchParams(search)) };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function homeFor(me) {
  const who = audiences(me);
  if (who.admin) return '#/console/today';
  if (who.leader) return '#/today';
  if (who.supplier) return '#/purchase-orders';
  return '#/welcome';
}

/** After sign in: remember the account, apply its tenant's language and time zone. */
export function signedIn(me) {
  state.me = me;
  setTimeZone(me.tenant.timezone);
  setLang(resolveLang());
}

export function signOut(flash = null) {
  session.clearToken();
  state.me = null;
  state.flash = flash;
  navigate('#/signin');
}

setAuthFailureHandler(() => {
  if (!state.me && !session.token) return;
  if (!location.hash.startsWith('#/signin')) state.returnTo = location.hash; // come back here after signing in
  signOut('signin.expired');
});

const MESSAGE_LANGUAGE_SET = `mutation MessageLanguage($language: String!) {
  messageLanguageSet(language: $language) { errors { code field message } } }`;

/** The language chosen is also the one the brand's messages (e-mail) reach this user in. */
function saveMessageLanguage(value) {
  gql(MESSAGE_LANGUAGE_SET, { language: value }).catch(() => {}); // the next switch or sign-in saves it
}

function header(current) {
  const who = audiences(state.me);
  const langSelect = h('select', { id: 'lang', 'aria-label': t('lang.label'), onchange: (e) => {
    session.chosenLang = e.target.value;
    setLang(e.target.value);
    if (state.me && state.me.userId) saveMessageLanguage(e.target.value);
    route();
  } }, LANGS.map(([code, label]) => h('option', { value: code, selected: code === lang() }, label)));
  const menu = state.me ? (who.admin ? ADMIN_MENU : MENU.filter(([, , aud]) => who[aud])) : [];
  return h('header', { class: 'topbar' },
    h('div', { class: 'brand' },
      h('span', { class: 'logo', 'aria-hidden': 'true' }, '团'),
      h('span', { class: 'brand-name' }, state.me ? state.me.tenant.name : t('app.name'))),
    h('div', { class: 'tools' },
      h('label', { class: 'visually-hidden', for: 'lang' }, t('lang.label')),
      langSelect,
      state.me ? h('button', { type: 'button', class: 'link', id: 'sign-out', onclick: () => signOut() }, t('nav.signOut')) : null),
    menu.length ? h('nav', { class: 'menu', 'aria-label': t('nav.label') },
      h('ul', {}, menu.map(([name, key]) => h('li', {},
        h('a', { href: `#/${name}`, 'aria-current': name === current || (current === 'picklist' && name === 'orders') || (current === 'remind' && name === 'pickup') || (current === 'purchase-order' && name === 'purchase-orders') ? 'page' : null }, t(key)))))) : null);
}

async function loadMe(started = null) {
  const data = started ? await started : await gql(ME);
  signedIn(data.me);
}

/** The first screen's request index.html started (who is signed in and 今日, in one), if it is this
 * account's and this screen's. */
function takeStarted(name) {
  const started = window.groupbuyFirstScreen;
  window.groupbuyFirstScreen = null;
  if (!started || started.token !== session.token || (name && name !== 'today')) return null;
  return gqlStarted(started.response);
}

async function route() {
  if (state.cleanup) { try { state.cleanup(); } catch (e) { console.warn(e); } state.cleanup = null; }
  const app = document.getElementById('app');
  let { name, params, query } = parseHash();
  if (session.token && !state.me) {
    // A leader's first screen is 今日: its data is asked for at once, beside who is signed in.
    const started = takeStarted(name);
    let me = null;
    if (started) {
      me = started.then(({ data, error }) => { if (!data || !data.me) throw error || new Error('no account'); return data; });
      today.prefetch(started.then(({ data, error }) => { if (error) throw error; return data; }));
      me.catch(() => {});
    } else if (!name || name === 'today') today.prefetch();
    fill(app, h('main', { id: 'main', class: 'page' }, h('div', { 'aria-busy': 'true' }, loadingBox())));
    try {
      await loadMe(me);
    } catch (e) {
      if (e.kind === 'auth') return; // signOut() already navigated to sign in
      fill(app, header(name), h('main', { id: 'main', class: 'page' }, errorBox(e, route)));
      return;
    }
  }
  if (!name) { navigate(state.me ? homeFor(state.me) : '#/signin'); return; }
  const entry = ROUTES[name];
  if (name === 'welcome' && state.me) {
    fill(app, header(name), h('main', { id: 'main', class: 'page' },
      h('h1', {}, t('customer.title')), h('p', {}, t('customer.body'))));
    return;
  }
  if (!entry) { navigate(state.me ? homeFor(state.me) : '#/signin'); return; }
  let [view, audience] = entry;
  if (audience && !state.me) {
    state.returnTo = location.hash;
    navigate('#/signin');
    return;
  }
  if (audience && !audiences(state.me)[audience]) { navigate(homeFor(state.me)); return; }
  if (name === 'signin' && state.me) { navigate(homeFor(state.me)); return; }
  const wanted = location.hash;
  if (typeof view === 'function' || (state.me && audiences(state.me).admin && !ADMIN_MENU.length)) {
    if (typeof view === 'function') fill(app, h('main', { id: 'main', class: 'page' }, h('div', { 'aria-busy': 'true' }, loadingBox())));
    try {
      if (state.me && audiences(state.me).admin) await loadConsoleMenu();
      if (typeof view === 'function') view = await view();
    } catch (e) {
      console.warn(e);
      fill(app, header(name), h('main', { id: 'main', class: 'page' }, errorBox({ kind: 'network', message: 'unreachable' }, route)));
      return;
    }
    if (location.hash !== wanted) return; // the user went elsewhere meanwhile
  }
  const main = h('main', { id: 'main', class: `page page-${name}`, tabindex: '-1' });
  fill(app, h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, t('app.skip')),
    header(name === 'console' ? `console/${params[0] || 'today'}` : name), main);
  const flash = state.flash;
  state.flash = null;
  const cleanup = view.render({
    main, params, query, me: state.me, navigate, flash,
    onSignedIn: (me) => {
      signedIn(me);
      const target = state.returnTo;
      state.returnTo = null;
      navigate(target && !target.startsWith('#/signin') ? target : homeFor(me));
    },
  });
  state.cleanup = typeof cleanup === 'function' ? cleanup : null;
  const heading = main.querySelector('h1');
  document.title = `${heading ? heading.textContent + ' · ' : ''}${t('app.name')}`;
}

// Offline (the service worker answered from its cache): a banner with the time of the data on screen.
const offlineBanner = h('p', { id: 'offline-banner', class: 'offline-banner', role: 'status', hidden: true });
document.body.prepend(offlineBanner);
window.addEventListener('groupbuy:network', (e) => {
  const { offline, dataAt } = e.detail;
  if (!offline) { offlineBanner.hidden = true; return; }
  if (!dataAt && !offlineBanner.hidden) return; // a refused action: the banner keeps its data time
  fill(offlineBanner, dataAt ? t('offline.banner', { time: dateTime(dataAt) }) : t('offline.bannerNoTime'));
  offlineBanner.hidden = false;
});
// Registered once the first screen is up: its install fetches every screen's files, which must not
// compete with the first screen's on a slow network.
if ('serviceWorker' in navigator) {
  const register = () => navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' })
    .catch((e) => console.warn('service worker', e));
  if (navigator.serviceWorker.controller) register();
  else window.addEventListener('load', () => setTimeout(register, 3000));
}

setLang(resolveLang());
window.addEventListener('hashchange', route);
route();
