// 分销 in the storefront (#/share): a signed-in customer's share link, QR code and poster for each
// open group buy; the customers bound to them (names masked); the referral commission their
// orders brought (pending at the close, earned at pickup), and its withdrawal (wallet.js).
// Every operation is the public API's.
import { gql, auth } from './api.js';
import { t, money, when, userErrors } from './i18n.js';
import { h, fill, note } from './dom.js';
import { qrElement } from './qr.js';
import { walletSection } from './wallet.js';

const OPEN = `query ShopShareBatches { batches(status: [OPEN], first: 10) { edges { node { id title closesAt } } } }`;
const SHARE = `mutation ShopShareBatch($id: ID!) { shareLinkCreate(target: BATCH, targetId: $id) {
  share { code url } posterUrl errors { code field message } } }`;
const MINE = `query ShopMyReferrals {
  myDistributionEarnings { pending { amount currency } earned { amount currency } }
  myReferrals(first: 50) { edges { node { id customerName level orders commission { amount currency } } } }
  myDistributionCommissions(first: 50) { edges { node { id level status orderNumber amount { amount currency } } } }
}`;

/** A batch's card: the button that makes (or gets again) this customer's link, then the link. */
function shareCard(batch, timezone) {
  const out = h('div', { 'aria-live': 'polite' });
  const make = async (event) => {
    event.target.disabled = true;
    try {
      const { shareLinkCreate: made } = await gql(SHARE, { id: batch.id });
      if (made.errors.length) return fill(out, note('error', userErrors(made.errors)));
      const url = made.share.url;
      const done = h('span', { role: 'status', class: 'muted' });
      const copy = async () => {
        try { await navigator.clipboard.writeText(url); fill(done, t('group.copied')); } catch (err) { /* the field is selectable */ }
      };
      fill(out, h('p', {}, t('share.hint')),
        h('input', { type: 'text', readonly: true, value: url, class: 'share-link', 'aria-label': t('share.link') }),
        qrElement(url, t('share.link')),
        h('p', {}, h('button', { type: 'button', onclick: copy }, t('group.copy')), ' ', done),
        h('p', {}, h('a', { href: made.posterUrl, class: 'poster-link', target: '_blank', rel: 'noopener' }, t('share.poster'))));
    } finally {
      event.target.disabled = false;
    }
  };
  return h('li', { class: 'card', 'data-batch': batch.id },
    h('h2', {}, batch.title),
    h('p', { class: 'muted' }, t('shop.closes', { time: when(batch.closesAt, timezone) })),
    h('button', { type: 'button', class: 'primary', 'data-share': batch.id, onclick: make }, t('share.make')),
    out);
}

export async function shareScreen(ctx) {
  if (!auth.token) return ctx.needSignIn('share');
  const [{ batches }, mine] = await Promise.all([gql(OPEN), gql(MINE)]);
  const open = batches.edges.map((e) => e.node);
  const people = mine.myReferrals.edges.map((e) => e.node);
  const earnings = mine.myDistributionCommissions.edges.map((e) => e.node).reverse(); // newest first
  const total = mine.myDistributionEarnings;
  fill(ctx.main,
    h('h1', {}, t('share.title')),
    h('p', { class: 'muted' }, t('share.intro')),
    open.length ? h('ul', { class: 'cards' }, open.map((b) => shareCard(b, ctx.timezone()))) : note('info', t('shop.none')),
    h('h2', {}, t('share.earnings')),
    h('p', { id: 'referral-earnings' }, t('share.totals', { pending: money(total.pending), earned: money(total.earned) })),
    walletSection(ctx.timezone()),
    h('h2', {}, t('share.referrals')),
    people.length ? h('ul', { class: 'cards', id: 'referrals' }, people.map((r) => h('li', { class: 'card' },
      h('strong', {}, r.customerName), ' ', h('span', { class: 'muted' }, t(`share.level${r.level}`)), h('br'),
      t('share.referral', { orders: r.orders, commission: money(r.commission) })))) : note('info', t('share.noReferrals')),
    earnings.length ? h('ul', { class: 'cards', id: 'referral-orders' }, earnings.map((c) => h('li', { class: 'card' },
      h('strong', {}, c.orderNumber), ' ', h('span', { class: 'muted' }, t(`share.level${c.level}`), ' · ',
        t(`share.status.${c.status}`)),
      h('span', { class: 'amount' }, money(c.amount))))) : null);
}
