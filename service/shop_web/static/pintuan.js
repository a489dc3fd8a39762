// 拼团 in the storefront: an offer that forms groups gets a "start a group" button; a group's page
// (#/group/<id>, the link a member shares) shows its state and lets a friend join it; an order in
// a group shows that group. Every operation is the public API's.
import { gql, auth, idempotencyKey, forgetAttempt } from './api.js';
import { t, when, userErrors } from './i18n.js';
import { h, fill, note } from './dom.js';
import { qrElement } from './qr.js';

const PLACE = `mutation ShopGroupOrder($input: OrderPlaceInput!) {
  orderPlace(input: $input) { order { id } errors { code field message } }
}`;
const GROUP = `query ShopGroup($id: ID!) { groupBuy(id: $id) {
  id status size paidMembers openedAt expiresAt succeededVirtually
  offer { id product { name } batch { id } }
} }`;
const PREPARE = `mutation ShopGroupJoin($id: ID!) { groupBuyJoin(groupBuyId: $id) { errors { code field message } } }`;
const SHARE = `mutation ShopGroupShare($id: ID!) { shareLinkCreate(target: GROUP_BUY, targetId: $id) {
  share { code url } errors { code field message } } }`;

/** The order's one line: the offer alone, starting a group (`groupId` null) or joining one. */
async function order(ctx, batchId, offerId, groupId, status) {
  if (!auth.token) return ctx.needSignIn(groupId ? `group/${groupId}` : 'shop', t('shop.signInFirst'));
  const point = ctx.point();
  if (!point) return ctx.go('');
  const lines = [{ offerId, quantity: 1 }];
  const key = idempotencyKey(JSON.stringify([batchId, point.id, lines, groupId || 'start']));
  const group = groupId ? { groupBuyId: groupId } : { startGroupBuy: true };
  const { orderPlace } = await gql(PLACE, { input: { batchId, pickupPointId: point.id, lines, idempotencyKey: key, ...group } });
  if (orderPlace.errors.length) return fill(status, note('error', userErrors(orderPlace.errors)));
  forgetAttempt();
  ctx.go(`order/${orderPlace.order.id}`);
}

/** Under an offer of the shop: nothing for a plain offer; for a 拼团 offer, its size and a button. */
export function offerGroupAction(ctx, batch, offer, status) {
  if (!offer.groupSize) return null;
  return h('p', { class: 'group-offer' },
    h('span', { class: 'badge' }, t('group.size', { n: offer.groupSize })), ' ',
    h('button', { type: 'button', 'data-start-group': offer.id,
      onclick: () => order(ctx, batch.id, offer.id, null, status) }, t('group.start')));
}

/** On an order's page: its group, with the link to share. */
export function orderGroupLine(order) {
  const g = order.groupBuy;
  if (!g) return null;
  return h('p', { class: 'group-line', id: 'order-group' },
    t(`group.status.${g.status}`), ' · ', t('group.members', { paid: g.paidMembers, size: g.size }), ' ',
    h('a', { href: `#/group/${encodeURIComponent(g.id)}` }, t('group.share')));
}

/** A signed-in customer's link to the group (their share code rides along, so friends who join
 * are their referrals): the URL to send and its QR code. */
function shareGroup(g) {
  const out = h('div', { id: 'group-share', 'aria-live': 'polite' });
  async function make(event) {
    event.target.disabled = true;
    try {
      const { shareLinkCreate: made } = await gql(SHARE, { id: g.id });
      if (made.errors.length) return fill(out, note('error', userErrors(made.errors)));
      const url = made.share.url;
      const field = h('input', { type: 'text', readonly: true, value: url, class: 'share-link', id: 'group-share-url',
        'aria-label': t('group.shareLink') });
      const done = h('span', { class: 'muted', 'aria-live': 'polite' });
      async function copy() {
        field.select();
        try { await navigator.clipboard.writeText(url); done.textContent = ' ' + t('group.copied'); } catch (err) { /* selected: copy by hand */ }
      }
      fill(out, h('p', {}, t('group.shareHint')), field, qrElement(url, t('group.shareLink')),
        h('p', {}, h('button', { type: 'button', id: 'copy-share', onclick: copy }, t('group.copy')), done));
    } finally {
      event.target.disabled = false;
    }
  }
  return h('section', { class: 'card group-share' },
    h('button', { type: 'button', id: 'share-group', onclick: make }, t('group.share')), out);
}

/** #/group/<id>: the group's state; join while it is open and has a place. */
export async function groupScreen(ctx, id) {
  const { groupBuy: g } = await gql(GROUP, { id });
  if (!g) return fill(ctx.main, note('error', t('code.NOT_FOUND')));
  const status = h('div', { 'aria-live': 'polite' });
  const joinable = g.status === 'OPEN' && g.openedAt && g.paidMembers < g.size;
  async function join(event) {
    event.target.disabled = true;
    try {
      if (auth.token) {
        const { groupBuyJoin } = await gql(PREPARE, { id: g.id });
        if (groupBuyJoin.errors.length) return fill(status, note('error', userErrors(groupBuyJoin.errors)), startNew());
      }
      await order(ctx, g.offer.batch.id, g.offer.id, g.id, status);
      if (status.querySelector('.error')) status.append(startNew()); // full or ended meanwhile
    } finally {
      event.target.disabled = false;
    }
  }
  // A group that is full or over: the friend starts a group of their own instead.
  const startNew = () => h('button', { type: 'button', class: joinable ? null : 'primary', id: 'start-new-group',
    onclick: () => order(ctx, g.offer.batch.id, g.offer.id, null, status) }, t('group.startNew'));
  fill(ctx.main,
    h('h1', {}, t('group.title', { name: g.offer.product.name })),
    h('p', {}, h('span', { class: `badge ${g.status}`, id: 'group-status' }, t(`group.status.${g.status}`)),
      g.succeededVirtually ? h('span', { class: 'muted' }, ' ', t('group.virtual')) : null),
    h('p', { id: 'group-members' }, t('group.members', { paid: g.paidMembers, size: g.size })),
    h('p', { class: 'muted' }, t('group.ends', { time: when(g.expiresAt, ctx.timezone()) })),
    joinable ? h('button', { type: 'button', class: 'primary', id: 'join-group', onclick: join }, t('group.join')) : startNew(),
    status,
    joinable && auth.token ? shareGroup(g) : null);
}
