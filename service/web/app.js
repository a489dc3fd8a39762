// The shell: who is signed in, the menu for their roles, the language switch, and a router on location.hash.
import { h, fill } from './dom.js';
import { gql, setAuthFailureHandler } from './api.js';
import { session } from './session.js';
import { LANGS, lang, resolveLang, setLang, t } from './i18n.js';
import { setTimeZone } from './format.js';
import { errorBox, loadingBox } from './ui.js';
import * as signin from './views/signin.js';
import * as today from './views/today.js';
import * as orders from './views/orders.js';
import * as picklist from './views/picklist.js';
import * as pickup from './views/pickup.js';
import * as groups from './views/groups.js';
import * as commissions from './views/commissions.js';
import * as money from './views/money.js';
import * as purchaseOrders from './views/purchase-orders.js';
import * as purchaseOrder from './views/purchase-order.js';
import * as join from './views/join.js';
import * as schemaView from './views/schema.js';
import * as consoleView from './console/index.js';
import { SCREENS as CONSOLE_SCREENS } from './console/index.js';

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
  groups: [groups, 'leader'],
  commissions: [commissions, 'leader'],
  money: [money, 'leader'],
  'purchase-orders': [purchaseOrders, 'supplier'],
  'purchase-order': [purchaseOrder, 'supplier'],
  console: [consoleView, 'admin'],
};

const MENU = [
  ['today', 'nav.today', 'leader'],
  ['orders', 'nav.orders', 'leader'],
  ['pickup', 'nav.pickup', 'leader'],
  ['groups', 'nav.groups', 'leader'],
  ['commissions', 'nav.commissions', 'leader'],
  ['money', 'nav.money', 'leader'],
  ['purchase-orders', 'nav.purchaseOrders', 'supplier'],
];
// An admin gets the console's screens instead (the leader's and supplier's views stay reachable by link).
const ADMIN_MENU = CONSOLE_SCREENS.map(([name, key]) => [`console/${name}`, key, 'admin']);

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
  setLang(resolveLang(me.tenant.timezone));
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

function header(current) {
  const who = audiences(state.me);
  const langSelect = h('select', { id: 'lang', 'aria-label': t('lang.label'), onchange: (e) => {
    session.chosenLang = e.target.value;
    setLang(e.target.value);
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
        h('a', { href: `#/${name}`, 'aria-current': name === current || (current === 'picklist' && name === 'orders') || (current === 'purchase-order' && name === 'purchase-orders') ? 'page' : null }, t(key)))))) : null);
}

async function loadMe() {
  const data = await gql(ME);
  signedIn(data.me);
}

async function route() {
  if (state.cleanup) { try { state.cleanup(); } catch (e) { console.warn(e); } state.cleanup = null; }
  const app = document.getElementById('app');
  let { name, params, query } = parseHash();
  if (session.token && !state.me) {
    fill(app, h('main', { id: 'main', class: 'page' }, loadingBox()));
    try {
      await loadMe();
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
  const [view, audience] = entry;
  if (audience && !state.me) {
    state.returnTo = location.hash;
    navigate('#/signin');
    return;
  }
  if (audience && !audiences(state.me)[audience]) { navigate(homeFor(state.me)); return; }
  if (name === 'signin' && state.me) { navigate(homeFor(state.me)); return; }
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

setLang(resolveLang());
window.addEventListener('hashchange', route);
route();
