// The customer's coupons in the storefront (#/coupons): what each takes off and until when; one that
// is unused yet can no longer be taken (a new-customer coupon once they have ordered) says why, in
// the API's words, which come in the customer's language. Every operation is the public API's.
import { gql, auth } from './api.js';
import { t, money, when } from './i18n.js';
import { h, fill, note } from './dom.js';

const MINE = `query ShopMyCoupons {
  myCoupons(first: 50) { edges { node {
    id status usable unusableReason validUntil
    template { name kind audience percentOff amountOff { amount currency } threshold { amount currency } }
  } } }
}`;

function terms(template) {
  const off = template.kind === 'PERCENT_OFF'
    ? t('coupons.percentOff', { percent: Number(template.percentOff) })
    : t('coupons.amountOff', { amount: money(template.amountOff) });
  const over = template.threshold && Number(template.threshold.amount) > 0
    ? t('coupons.over', { amount: money(template.threshold) }) : '';
  return `${over}${off}`;
}

function card(coupon, timezone) {
  const label = coupon.status === 'AVAILABLE' && !coupon.usable ? 'UNUSABLE' : coupon.status;
  return h('li', { class: 'card coupon', 'data-coupon': coupon.id, 'data-usable': String(coupon.usable) },
    h('strong', {}, coupon.template.name), ' ',
    h('span', { class: `badge ${label}` }, t(`coupons.status.${label}`)),
    coupon.template.audience === 'NEW_CUSTOMERS' ? h('span', { class: 'muted' }, ' · ', t('coupons.newCustomers')) : null,
    h('br'), h('span', {}, terms(coupon.template)),
    coupon.validUntil ? h('span', { class: 'muted' }, ' · ', t('coupons.until', { time: when(coupon.validUntil, timezone) })) : null,
    coupon.unusableReason ? h('p', { class: 'note info why' }, coupon.unusableReason) : null);
}

/** #/coupons: the signed-in customer's coupons, usable ones first, newest first within each. */
export async function couponsScreen(ctx) {
  if (!auth.token) return ctx.needSignIn('coupons');
  const { myCoupons } = await gql(MINE);
  const all = myCoupons.edges.map((e) => e.node).reverse();
  const list = [...all.filter((c) => c.usable), ...all.filter((c) => !c.usable)];
  fill(ctx.main,
    h('h1', {}, t('coupons.title')),
    list.length ? h('ul', { class: 'cards', id: 'coupons' }, list.map((c) => card(c, ctx.timezone())))
      : note('info', t('coupons.none')));
}
