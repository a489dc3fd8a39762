// Today at my point: the orders placed today at the leader's pickup points, their goods value and the
// commission expected from them (earned at pickup, then frozen for the after-sales window).
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { extend, t } from '../i18n.js';
import { money } from '../format.js';
import { area, empty, plural } from '../ui.js';

extend('zh-CN', {
  'point.title': '今日门店',
  'point.day': '日期',
  'point.orders': '订单数', 'point.goods': '商品金额', 'point.commission': '预计佣金',
  'point.hint': '预计佣金：顾客取货后计入收益（冻结中），售后期结束后转为可提现；退款会相应扣减。',
  'point.none': '这一天您的自提点还没有订单。',
  'point.perPoint': '各自提点',
  'point.orderCount': '{n} 单', 'point.orderCount#one': '{n} 单',
  'point.money': '查看收益',
});
extend('en', {
  'point.title': 'Today at my point',
  'point.day': 'Day',
  'point.orders': 'Orders', 'point.goods': 'Goods value', 'point.commission': 'Expected commission',
  'point.hint': 'Expected commission is earned when customers pick up (then frozen), and becomes available when the after-sales window ends; refunds reduce it.',
  'point.none': 'No orders at your pickup points on this day yet.',
  'point.perPoint': 'By pickup point',
  'point.orderCount': '{n} orders', 'point.orderCount#one': '{n} order',
  'point.money': 'See my money',
});

const M = 'amount currency';
const TODAY = `query LeaderToday($on: Date) { leaderToday(on: $on) { date orders goodsValue { ${M} } expectedCommission { ${M} }
  points { orders goodsValue { ${M} } expectedCommission { ${M} } pickupPoint { id name } } } }`;

function summary(day) {
  return h('div', {},
    h('ul', { class: 'cards point-sums' },
      h('li', { class: 'card row between point-orders' }, h('span', {}, t('point.orders')), h('strong', { dataset: { key: 'orders' } }, String(day.orders))),
      h('li', { class: 'card row between point-goods' }, h('span', {}, t('point.goods')), h('strong', { dataset: { key: 'goods' } }, money(day.goodsValue))),
      h('li', { class: 'card row between point-commission' }, h('span', {}, t('point.commission')),
        h('strong', { dataset: { key: 'commission' } }, money(day.expectedCommission)))),
    h('p', { class: 'muted' }, t('point.hint')),
    day.points.length
      ? h('section', {}, h('h2', {}, t('point.perPoint')),
        h('ul', { class: 'cards points' }, day.points.map((p) => h('li', { class: 'card', dataset: { point: p.pickupPoint.id } },
          h('h3', {}, p.pickupPoint.name),
          h('p', {}, plural('point.orderCount', p.orders), ' · ', money(p.goodsValue)),
          h('p', { class: 'muted' }, `${t('point.commission')} ${money(p.expectedCommission)}`)))))
      : empty(t('point.none')));
}

export function render({ main }) {
  // Empty at first: the API's today is the tenant's (not the phone's) date, shown once answered.
  const picker = h('input', { type: 'date', id: 'point-day' });
  const holder = h('div', {});
  const load = () => fill(holder, area(() => gql(TODAY, picker.value ? { on: picker.value } : {}), (data) => {
    if (!picker.value) picker.value = data.leaderToday.date;
    return summary(data.leaderToday);
  }));
  picker.addEventListener('change', load);
  load();
  fill(main, h('h1', {}, t('point.title')),
    h('label', { for: 'point-day' }, t('point.day')), picker,
    holder,
    h('p', {}, h('a', { class: 'button', href: '#/money' }, t('point.money'))));
}
