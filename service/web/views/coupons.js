// Coupons: what is active for each open batch (the tenant's, the batch's, its offers'), so the leader
// can tell the estate's chat group; one tap copies the list as text.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { lang, t, extend } from '../i18n.js';
import { dateTime, money } from '../format.js';
import { area, edges, empty } from '../ui.js';

extend('zh-CN', {
  'coupons.title': '可用优惠券',
  'coupons.intro': '本期团购进行中时顾客可以领取的优惠券。可复制到小区群里提醒大家领券。',
  'coupons.none': '现在没有进行中的团购。',
  'coupons.noneForBatch': '这期团购暂无可领的优惠券。',
  'coupons.amountOff': '减{amount}',
  'coupons.amountOffAbove': '满{threshold}减{amount}',
  'coupons.percentOff': '{percent}折',
  'coupons.percentOffCap': '{percent}折，最多减{cap}',
  'coupons.unitOff': '单件减{amount}',
  'coupons.left': '剩余 {n} 张',
  'coupons.unlimited': '不限量',
  'coupons.until': '{time} 前有效',
  'coupons.days': '领取后 {n} 天内有效',
  'coupons.scopeBatch': '仅限本期',
  'coupons.scopeOffers': '指定商品',
  'coupons.audience.NEW_CUSTOMERS': '新人专享',
  'coupons.audience.GROUP_MEMBERS': '团员专享',
  'coupons.copy': '复制到群',
  'coupons.copied': '已复制。',
  'coupons.copyHead': '【{title}】可领优惠券：',
});
extend('en', {
  'coupons.title': 'Active coupons',
  'coupons.intro': "Coupons customers can claim while this batch is open. Copy the list into the estate's chat group.",
  'coupons.none': 'No batch is open now.',
  'coupons.noneForBatch': 'No coupons to claim for this batch.',
  'coupons.amountOff': '{amount} off',
  'coupons.amountOffAbove': '{amount} off orders of {threshold}',
  'coupons.percentOff': '{percent}% off',
  'coupons.percentOffCap': '{percent}% off, at most {cap}',
  'coupons.unitOff': '{amount} off one item',
  'coupons.left': '{n} left',
  'coupons.unlimited': 'No limit',
  'coupons.until': 'Valid until {time}',
  'coupons.days': 'Valid {n} days after claiming',
  'coupons.scopeBatch': 'This batch only',
  'coupons.scopeOffers': 'Selected items',
  'coupons.audience.NEW_CUSTOMERS': 'New customers',
  'coupons.audience.GROUP_MEMBERS': 'Group members',
  'coupons.copy': 'Copy for the group',
  'coupons.copied': 'Copied.',
  'coupons.copyHead': '[{title}] coupons to claim:',
});

const OPEN_BATCHES = `query CouponsOpenBatches {
  batches(status: [OPEN], first: 50) { edges { node { id title closesAt } } }
}`;
const ACTIVE = `query CouponsActive($b: ID!) {
  availableCoupons(batchId: $b) {
    id name kind claimed totalQuantity audience percentOff validUntil validDaysAfterClaim batchId offerIds
    amountOff { amount currency } threshold { amount currency } maxDiscount { amount currency }
  }
}`;

/** 满30减5 / 15% off, at most ¥10 / ¥3 off one item. */
function what(c) {
  if (c.kind === 'PERCENT_OFF') {
    // zh-CN counts what is paid in tenths (8.5折 = 15% off); en says the percentage off.
    const percent = lang() === 'zh-CN'
      ? String(Number(((100 - Number(c.percentOff)) / 10).toFixed(2)))
      : String(Number(c.percentOff));
    return c.maxDiscount ? t('coupons.percentOffCap', { percent, cap: money(c.maxDiscount) })
      : t('coupons.percentOff', { percent });
  }
  if (c.kind === 'UNIT_OFF') return t('coupons.unitOff', { amount: money(c.amountOff) });
  return Number(c.threshold.amount) > 0
    ? t('coupons.amountOffAbove', { amount: money(c.amountOff), threshold: money(c.threshold) })
    : t('coupons.amountOff', { amount: money(c.amountOff) });
}

function notes(c) {
  const out = [];
  if (c.validDaysAfterClaim) out.push(t('coupons.days', { n: c.validDaysAfterClaim }));
  else if (c.validUntil) out.push(t('coupons.until', { time: dateTime(c.validUntil) }));
  if (c.offerIds) out.push(t('coupons.scopeOffers'));
  else if (c.batchId) out.push(t('coupons.scopeBatch'));
  return out;
}

function couponItem(c) {
  const left = c.totalQuantity === null || c.totalQuantity === undefined
    ? t('coupons.unlimited') : t('coupons.left', { n: Math.max(0, c.totalQuantity - c.claimed) });
  return h('li', { class: 'coupon', dataset: { coupon: c.id, kind: c.kind } },
    h('div', { class: 'row between' },
      h('strong', { class: 'coupon-what' }, what(c)),
      h('span', { class: 'muted coupon-left' }, left)),
    h('p', { class: 'coupon-name' }, c.name,
      c.audience !== 'ANYONE' ? [' ', h('span', { class: 'badge status-pending' }, t(`coupons.audience.${c.audience}`))] : null),
    notes(c).length ? h('p', { class: 'muted coupon-notes' }, notes(c).join(' · ')) : null);
}

function batchCard(b) {
  return h('li', { class: 'card', dataset: { batch: b.id } },
    h('h2', {}, b.title),
    area(() => gql(ACTIVE, { b: b.id }), (data) => {
      const coupons = data.availableCoupons;
      if (!coupons.length) return empty(t('coupons.noneForBatch'));
      const status = h('span', { class: 'muted', role: 'status' });
      const text = [t('coupons.copyHead', { title: b.title }), ...coupons.map((c) => `· ${what(c)}（${c.name}）`)].join('\n');
      return [
        h('ul', { class: 'coupons' }, coupons.map(couponItem)),
        h('p', {}, h('button', { type: 'button', class: 'secondary copy-coupons', onclick: async () => {
          try { await navigator.clipboard.writeText(text); fill(status, t('coupons.copied')); } catch (e) { console.warn(e); }
        } }, t('coupons.copy')), ' ', status),
      ];
    }));
}

export function render({ main }) {
  fill(main, h('h1', {}, t('coupons.title')), h('p', { class: 'muted' }, t('coupons.intro')),
    area(() => gql(OPEN_BATCHES), (data) => {
      const batches = edges(data.batches);
      if (!batches.length) return empty(t('coupons.none'));
      return h('ul', { class: 'cards' }, batches.map(batchCard));
    }));
}
