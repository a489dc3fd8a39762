// The reference storefront: a customer's side of a group-buying brand, on the public GraphQL API only.
//
// Screens (the part of the URL after #):
//   /              choose a pickup point (a group leader's point)
//   /shop          the open group buys, ordered for pickup at the chosen point
//   /account       sign in or register by phone
//   /order/<id>    one order: the payment step, then the pickup code as a QR code; once picked up,
//                  after-sales requests (aftersales.js)
//   /orders        the customer's orders
//   /join/<code>   a community group's invite link
//   /group/<id>    a 拼团 group: its state, and joining it (pintuan.js)
//   /share         the customer's share links, referrals and referral commission (referrals.js)
//   /coupons       the customer's coupons, and why one unused can no longer be taken (coupons.js)
//
// Everything a brand's front-end needs is here: read the queries below, they are the whole contract.
import { gql, auth, slug, ApiError, idempotencyKey, forgetAttempt } from './api.js';
import { t, lang, setLang, money, when, userErrors } from './i18n.js';
import { h, fill, note } from './dom.js';
import { qrElement } from './qr.js';
import { offerGroupAction, orderGroupLine, groupScreen } from './pintuan.js';
import { afterSalesSection } from './aftersales.js';
import { shareScreen } from './referrals.js';
import { couponsScreen } from './coupons.js';

// -- the operations ---------------------------------------------------------------------------

const TENANT = `query ShopTenant { tenant { name timezone currency paymentMode paymentWindowMinutes } }`;

const POINTS = `query ShopPickupPoints {
  pickupPoints(first: 50) { edges { node { id name address openingHours leader { displayName } } } }
}`;

const OPEN_BATCHES = `query ShopOpenBatches {
  batches(status: [OPEN], first: 10) { edges { node {
    id title closesAt pickupDate
    offers { id remainingStock perCustomerLimit groupSize price { amount currency } product { name unit description } }
  } } }
}`;

const REGISTER = `mutation ShopRegister($input: CustomerRegisterInput!) {
  customerRegister(input: $input) { token errors { code field message } }
}`;

const SIGN_IN = `mutation ShopSignIn($input: TokenCreateInput!) {
  tokenCreate(input: $input) { token errors { code field message } }
}`;

const MESSAGE_LANGUAGE_SET = `mutation ShopMessageLanguage($language: String!) {
  messageLanguageSet(language: $language) { errors { code field message } }
}`;

const PLACE = `mutation ShopOrderPlace($input: OrderPlaceInput!) {
  orderPlace(input: $input) { order { id } errors { code field message } }
}`;

const ORDER = `query ShopOrder($id: ID!) { order(id: $id) {
  id number status placedAt paidAt pickupCode
  total { amount currency }
  batch { title pickupDate }
  pickupPoint { name address }
  lines { id productName quantity total { amount currency } }
  groupBuy { id status size paidMembers }
} }`;

const MY_ORDERS = `query ShopMyOrders {
  orders(first: 50) { edges { node { id number status placedAt total { amount currency } batch { title } } } }
}`;

const JOIN = `mutation ShopJoin($inviteCode: String!) {
  communityGroupJoin(inviteCode: $inviteCode) {
    communityGroup { id name leader { displayName pickupPoints { id name } } }
    errors { code field message }
  }
}`;

const INVITE = `query ShopInvite($inviteCode: String!) {
  invitePage(inviteCode: $inviteCode) { groupName leaderName pointName pointAddress openingHours frontEndUrl }
}`;

const SHARE_VISIT = `mutation ShopShareVisit($code: String!) {
  shareVisit(code: $code) { share { code sharerName } errors { code field message } }
}`;

// -- state kept on the phone ------------------------------------------------------------------

const POINT_KEY = `shop.${slug}.point`;
const CART_KEY = `shop.${slug}.cart`;
const NEXT_KEY = `shop.${slug}.next`;
const SHARE_KEY = `shop.${slug}.share`;
const store = {
  get point() { return JSON.parse(localStorage.getItem(POINT_KEY) || 'null'); },
  set point(p) { localStorage.setItem(POINT_KEY, JSON.stringify(p)); },
  // The cart survives the detour through sign-in: {batchId, lines: {offerId: quantity}}.
  get cart() { return JSON.parse(sessionStorage.getItem(CART_KEY) || 'null') || { batchId: null, lines: {} }; },
  set cart(c) { sessionStorage.setItem(CART_KEY, JSON.stringify(c)); },
};

let tenant = null; // the tenant's public settings, loaded once

const main = document.getElementById('main');

// -- screens ----------------------------------------------------------------------------------

async function pointsScreen() {
  const { pickupPoints } = await gql(POINTS);
  const points = pickupPoints.edges.map((e) => e.node);
  fill(main,
    h('h1', {}, t('points.title')),
    h('p', { class: 'muted' }, t('points.intro')),
    points.length ? h('ul', { class: 'cards' }, points.map((p) => h('li', { class: 'card' },
      h('h2', {}, p.name),
      h('p', {}, p.address),
      h('p', { class: 'muted' }, t('points.leader', { name: p.leader.displayName }), p.openingHours ? ` · ${p.openingHours}` : ''),
      h('button', { type: 'button', class: 'primary', 'data-point': p.id, onclick: () => {
        store.point = { id: p.id, name: p.name };
        go('shop');
      } }, t('points.choose')),
    ))) : note('info', t('points.none')));
}

async function shopScreen() {
  const point = store.point;
  if (!point) return go('');
  const { batches } = await gql(OPEN_BATCHES);
  const open = batches.edges.map((e) => e.node);
  const header = h('p', { class: 'point' }, t('shop.point', { name: point.name }), ' ',
    h('a', { href: '#/' }, t('shop.change')));
  if (!open.length) return fill(main, header, note('info', t('shop.none')));

  // One batch at a time: an order belongs to one batch (the first open one; most brands run one).
  const batch = open[0];
  const cart = store.cart.batchId === batch.id ? store.cart : { batchId: batch.id, lines: {} };
  const status = h('div', { 'aria-live': 'polite' });
  const totalLine = h('p', { class: 'total', id: 'cart-total' });
  const priceOf = Object.fromEntries(batch.offers.map((o) => [o.id, o.price]));
  for (const id of Object.keys(cart.lines)) if (!priceOf[id]) delete cart.lines[id]; // offers removed since

  function refreshTotal() {
    // Money comes as decimal strings: add in cents, never in floating point. Shown only: the order's
    // real total is the server's (rounded once per line, half-up).
    let cents = 0n;
    for (const [id, qty] of Object.entries(cart.lines)) cents += toCents(priceOf[id].amount) * BigInt(qty);
    fill(totalLine, t('shop.total', { amount: money({ amount: fromCents(cents), currency: tenant.currency }) }));
    store.cart = cart;
  }

  function stepper(offer) {
    const max = Math.min(offer.remainingStock ?? Infinity, offer.perCustomerLimit ?? Infinity);
    const count = h('output', { class: 'qty', 'data-qty': offer.id }, String(cart.lines[offer.id] || 0));
    const change = (delta) => {
      const next = Math.max(0, Math.min(max, (cart.lines[offer.id] || 0) + delta));
      if (next) cart.lines[offer.id] = next; else delete cart.lines[offer.id];
      fill(count, String(next));
      refreshTotal();
    };
    return h('div', { class: 'stepper' },
      h('button', { type: 'button', 'aria-label': t('shop.less', { name: offer.product.name }), onclick: () => change(-1) }, '−'),
      count,
      h('button', { type: 'button', 'data-add': offer.id, 'aria-label': t('shop.more', { name: offer.product.name }),
        disabled: max <= 0, onclick: () => change(1) }, '+'));
  }

  async function placeOrder(event) {
    const lines = Object.entries(cart.lines).map(([offerId, quantity]) => ({ offerId, quantity }));
    if (!lines.length) return fill(status, note('error', t('shop.empty')));
    if (!auth.token) {
      sessionStorage.setItem(NEXT_KEY, 'shop');
      return go('account', t('shop.signInFirst'));
    }
    event.target.disabled = true;
    try {
      // The same key for the same cart: a retry after a lost answer gets the same order back.
      const key = idempotencyKey(JSON.stringify([batch.id, point.id, lines]));
      const input = { batchId: batch.id, pickupPointId: point.id, lines, idempotencyKey: key };
      const shareCode = localStorage.getItem(SHARE_KEY);
      if (shareCode) input.shareCode = shareCode; // the link this customer came with
      const { orderPlace } = await gql(PLACE, { input });
      if (orderPlace.errors.length) return fill(status, note('error', userErrors(orderPlace.errors)));
      forgetAttempt();
      store.cart = { batchId: null, lines: {} };
      go(`order/${orderPlace.order.id}`);
    } catch (err) {
      fill(status, note('error', explain(err)));
    } finally {
      event.target.disabled = false;
    }
  }

  fill(main,
    header,
    h('h1', {}, batch.title),
    h('p', { class: 'muted' }, t('shop.closes', { time: when(batch.closesAt, tenant.timezone) }), ' · ',
      t('shop.pickup', { date: batch.pickupDate })),
    h('ul', { class: 'cards' }, batch.offers.map((o) => h('li', { class: 'card offer' },
      h('div', {},
        h('h2', {}, o.product.name),
        o.product.description ? h('p', { class: 'muted' }, o.product.description) : null,
        h('p', {}, h('strong', { class: 'price' }, money(o.price)), ` / ${o.product.unit}`,
          o.remainingStock === null ? '' : h('span', { class: 'muted' }, ' · ',
            o.remainingStock > 0 ? t('shop.left', { n: o.remainingStock }) : t('shop.soldOut'))),
        offerGroupAction(groupContext(), batch, o, status)),
      stepper(o)))),
    h('div', { class: 'checkout' }, totalLine,
      h('button', { type: 'button', class: 'primary', id: 'place-order', onclick: placeOrder }, t('shop.order'))),
    status);
  refreshTotal();
}

function accountScreen(reason) {
  const status = h('div', { 'aria-live': 'polite' }, reason ? note('info', reason) : null);
  // After signing in the customer returns where they were (the cart, an invite link).
  const done = (token) => {
    auth.token = token;
    const next = sessionStorage.getItem(NEXT_KEY) || 'orders';
    sessionStorage.removeItem(NEXT_KEY);
    go(next);
  };
  const submit = (mutation, field, input) => async (event) => {
    event.preventDefault();
    const button = event.target.querySelector('button');
    button.disabled = true;
    fill(status, note('info', t('account.busy')));
    try {
      let payload = (await gql(mutation, { input: input(new FormData(event.target)) }))[field];
      if (payload.errors.some((e) => e.field && e.field[1] === 'shareCode')) {
        localStorage.removeItem(SHARE_KEY); // a link no longer known: register without it
        payload = (await gql(mutation, { input: input(new FormData(event.target)) }))[field];
      }
      if (payload.errors.length) return fill(status, note('error', userErrors(payload.errors)));
      done(payload.token);
    } catch (err) {
      fill(status, note('error', explain(err)));
    } finally {
      button.disabled = false;
    }
  };
  const field = (id, label, type, autocomplete) => h('label', { for: id }, label,
    h('input', { id, name: id, type, autocomplete, required: true }));
  fill(main,
    h('h1', {}, t('account.title')),
    status,
    h('form', { id: 'sign-in', class: 'card', onsubmit: submit(SIGN_IN, 'tokenCreate', (f) => ({
      login: f.get('login-phone'), password: f.get('login-password') })) },
      h('h2', {}, t('account.signIn')),
      field('login-phone', t('account.phone'), 'tel', 'tel'),
      field('login-password', t('account.password'), 'password', 'current-password'),
      h('button', { type: 'submit', class: 'primary' }, t('account.signIn'))),
    h('form', { id: 'register', class: 'card', onsubmit: submit(REGISTER, 'customerRegister', (f) => ({
      displayName: f.get('reg-name'), phone: f.get('reg-phone'), password: f.get('reg-password'),
      // The link the customer came with binds them to its sharer from registration on.
      ...(localStorage.getItem(SHARE_KEY) ? { shareCode: localStorage.getItem(SHARE_KEY) } : {}) })) },
      h('h2', {}, t('account.register')),
      field('reg-name', t('account.name'), 'text', 'nickname'),
      field('reg-phone', t('account.phone'), 'tel', 'tel'),
      field('reg-password', t('account.password'), 'password', 'new-password'),
      h('button', { type: 'submit', class: 'primary' }, t('account.register'))));
}

async function orderScreen(id) {
  if (!auth.token) return needSignIn(`order/${id}`);
  const { order } = await gql(ORDER, { id });
  if (!order) return fill(main, note('error', t('code.NOT_FOUND')));
  fill(main,
    h('h1', {}, t('order.title', { number: order.number })),
    h('p', {}, h('span', { class: `badge ${order.status}`, id: 'order-status' }, t(`status.${order.status}`))),
    h('p', { class: 'muted' }, order.batch.title, ' · ', t('shop.pickup', { date: order.batch.pickupDate })),
    h('ul', { class: 'lines' }, order.lines.map((l) => h('li', {}, h('span', {}, `${l.productName} × ${l.quantity}`),
      h('span', {}, money(l.total))))),
    h('p', { class: 'total' }, t('order.total'), ' ', money(order.total)),
    orderGroupLine(order),
    h('p', {}, h('strong', {}, t('order.point')), ' ', order.pickupPoint.name, h('br'), order.pickupPoint.address),
    await paymentStep(order),
    pickupCode(order),
    await afterSalesSection(order, tenant.timezone),
    h('p', {}, h('a', { href: '#/orders' }, t('order.toOrders'))));
}

/** The payment step. PREPAID: the brand's payment provider takes over here; the order becomes PAID
 * when the brand's back end calls orderMarkPaid (with its API key, never from this page). */
async function paymentStep(order) {
  if (tenant.paymentMode === 'PAY_AT_PICKUP') return h('section', { class: 'card', id: 'payment' }, note('info', t('order.atPickup')));
  if (order.status !== 'PENDING_PAYMENT') {
    return order.paidAt ? h('section', { class: 'card', id: 'payment' },
      note('success', `${t('order.paid')} · ${when(order.paidAt, tenant.timezone)}`)) : null;
  }
  const section = h('section', { class: 'card provider', id: 'payment' },
    h('h2', {}, t('order.payTitle')),
    h('p', {}, t('order.prepaid')),
    h('p', { class: 'muted' }, t('order.payWindow', { minutes: tenant.paymentWindowMinutes })));
  // Development only: a stand-in for the brand's back end (absent in production: the probe gets 404).
  const probe = await fetch('dev-pay').catch(() => null);
  if (probe && probe.ok) {
    const status = h('div', { 'aria-live': 'polite' });
    section.append(h('p', { class: 'muted' }, t('order.devPayNote')),
      h('button', { type: 'button', class: 'primary', id: 'dev-pay', onclick: async (event) => {
        event.target.disabled = true;
        const answer = await fetch('dev-pay', { method: 'POST', headers: {
          'Content-Type': 'application/json', Authorization: `Bearer ${auth.token}` },
        body: JSON.stringify({ orderId: order.id }) }).catch(() => null);
        if (answer && answer.ok) return route();
        event.target.disabled = false;
        fill(status, note('error', t('error.network')));
      } }, t('order.devPay')), status);
  }
  return section;
}

function pickupCode(order) {
  const shown = order.pickupCode && !['PENDING_PAYMENT', 'CANCELLED', 'PICKED_UP'].includes(order.status);
  if (!shown) return null;
  return h('section', { class: 'card pickup', id: 'pickup-code' },
    h('h2', {}, t('order.code')),
    qrElement(order.pickupCode, t('order.code')),
    h('p', { class: 'code' }, order.pickupCode),
    h('p', { class: 'muted' }, t('order.codeHint')));
}

async function ordersScreen() {
  if (!auth.token) return needSignIn('orders');
  const { orders } = await gql(MY_ORDERS);
  const list = orders.edges.map((e) => e.node).reverse(); // newest first
  fill(main,
    h('h1', {}, t('orders.title')),
    list.length ? h('ul', { class: 'cards', id: 'orders' }, list.map((o) => h('li', { class: 'card order' },
      h('a', { href: `#/order/${o.id}` },
        h('strong', {}, o.number), ' ', h('span', { class: `badge ${o.status}` }, t(`status.${o.status}`)),
        h('br'), h('span', { class: 'muted' }, o.batch.title, ' · ', when(o.placedAt, tenant.timezone)),
        h('span', { class: 'amount' }, money(o.total)))))) : note('info', t('orders.none')));
}

async function joinScreen(code) {
  const status = h('div', { 'aria-live': 'polite' });
  const join = async (event) => {
    if (!auth.token) return needSignIn(`join/${encodeURIComponent(code)}`, t('join.signIn'));
    event.target.disabled = true;
    try {
      const { communityGroupJoin: p } = await gql(JOIN, { inviteCode: code });
      if (p.errors.length) return fill(status, note('error', userErrors(p.errors)));
      const group = p.communityGroup;
      const point = group.leader.pickupPoints[0];
      fill(status, note('success', t('join.done', { name: group.name })),
        // The group's leader runs a pickup point: that is where this customer will collect.
        point ? h('button', { type: 'button', class: 'primary', id: 'to-point', onclick: () => {
          store.point = { id: point.id, name: point.name };
          go('shop');
        } }, t('join.shop')) : null);
    } catch (err) {
      fill(status, note('error', explain(err)));
    } finally {
      event.target.disabled = false;
    }
  };
  const { invitePage: page } = await gql(INVITE, { inviteCode: code });
  fill(main,
    h('h1', {}, t('join.title')),
    page ? h('section', { class: 'card', id: 'invite' },
      h('h2', {}, page.groupName),
      h('p', {}, t('join.leader', { name: page.leaderName })),
      page.pointName ? h('p', {}, t('join.point', { name: page.pointName }), h('br'),
        h('span', { class: 'muted' }, page.pointAddress, page.openingHours ? ` · ${page.openingHours}` : '')) : null,
      h('p', {}, h('a', { href: page.frontEndUrl, id: 'front-end', class: 'button' }, t('join.frontEnd')))) : null,
    h('p', {}, t('join.body')),
    h('p', { class: 'code' }, code),
    h('button', { type: 'button', class: 'primary', id: 'join', onclick: join }, t('join.submit')),
    status);
}

/** "29.9" / "29.90" -> 2990n (the API's prices have at most two decimals). */
function toCents(amount) {
  const [units, fraction = ''] = amount.split('.');
  return BigInt(units) * 100n + BigInt((fraction + '00').slice(0, 2));
}

function fromCents(cents) {
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
}

function needSignIn(next, reason) {
  sessionStorage.setItem(NEXT_KEY, next);
  go('account', reason);
}

// -- the frame: menu, language, routing, errors -----------------------------------------------

function explain(err) {
  if (err instanceof ApiError && err.code === 'NETWORK') return t('error.network');
  if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') return t('error.UNAUTHENTICATED');
  return t('error.other', { message: err.message });
}

let pendingReason = null;
function go(path, reason = null) {
  pendingReason = reason;
  if (location.hash === `#/${path}`) route(); else location.hash = `#/${path}`;
}

/** The language chosen is also the one the shop's messages (e-mail) reach this customer in. */
async function saveLanguage() {
  if (!auth.token) return; // adopted at the next sign-in instead (it sends the page's language)
  try {
    await gql(MESSAGE_LANGUAGE_SET, { language: lang });
  } catch (err) {
    // The page's language changed anyway; the next switch or sign-in saves it.
  }
}

function menu() {
  fill(document.getElementById('nav'),
    h('a', { href: '#/shop' }, t('nav.shop')),
    h('a', { href: '#/orders' }, t('nav.orders')),
    auth.token ? h('a', { href: '#/share', id: 'share-link' }, t('nav.share')) : null,
    auth.token ? h('a', { href: '#/coupons', id: 'coupons-link' }, t('nav.coupons')) : null,
    auth.token
      ? h('button', { type: 'button', class: 'link', id: 'sign-out', onclick: () => { auth.token = null; go(''); } }, t('nav.signOut'))
      : h('a', { href: '#/account', id: 'sign-in-link' }, t('nav.account')),
    h('button', { type: 'button', class: 'link', id: 'lang', lang: lang === 'en' ? 'zh-CN' : 'en', onclick: () => {
      setLang(lang === 'en' ? 'zh-CN' : 'en');
      saveLanguage();
      route();
    } }, t('nav.lang')));
}

async function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const arg = decodeURIComponent(rest.join('/'));
  const reason = pendingReason;
  pendingReason = null;
  fill(main, h('p', { role: 'status', class: 'muted' }, t('common.loading')));
  try {
    if (!tenant) tenant = (await gql(TENANT)).tenant;
    document.title = tenant.name;
    fill(document.getElementById('home'), tenant.name);
    menu();
    const screens = { '': pointsScreen, shop: shopScreen, account: accountScreen, order: orderScreen,
      orders: ordersScreen, join: joinScreen, group: (id) => groupScreen(groupContext(), id),
      share: () => shareScreen(groupContext()), coupons: () => couponsScreen(groupContext()) };
    await (screens[name] || pointsScreen)(name === 'account' ? reason : arg);
    main.dataset.screen = name || 'points'; // tests wait for this
  } catch (err) {
    if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') return needSignIn(name, t('error.UNAUTHENTICATED'));
    fill(main, note('error', explain(err)));
  }
}

/** A share link (?share=<code>): kept for the order, and its visit recorded (once per page load). */
async function rememberShare() {
  const code = new URLSearchParams(location.search).get('share');
  if (!code) return;
  localStorage.setItem(SHARE_KEY, code);
  try {
    const { shareVisit } = await gql(SHARE_VISIT, { code });
    // Another tenant's or unknown; a visit over the limit (RATE_LIMITED) keeps the code for the order.
    if (shareVisit.errors.some((e) => e.code === 'NOT_FOUND')) localStorage.removeItem(SHARE_KEY);
  } catch (err) {
    // The visit is a bonus: the shop works without it.
  }
}

/** What the 拼团 screens (pintuan.js) need of this page. */
function groupContext() {
  return { main, go, needSignIn, point: () => store.point, timezone: () => tenant.timezone };
}

window.addEventListener('hashchange', route);
rememberShare().finally(route);
