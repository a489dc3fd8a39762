// Orders: find by number, batch, pickup point and status; the order's timeline; refunds by quantity
// (orderLinesRefund, with a reason code) and the refunds made, with why and who.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { extend, t } from '../i18n.js';
import { dateTime, money } from '../format.js';
import { area, badge, empty } from '../ui.js';
import { ERR, act, confirmAction, feedback, fetchAll, section, table } from './kit.js';

const FILTERS = `query ConsoleOrderFilters($after: String) {
  batches(first: 100) { edges { node { id title status } } }
  pickupPoints(first: 100, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } }
}`;
const ORDERS = `query ConsoleOrders($batchId: ID, $pickupPointId: ID, $status: [OrderStatus!], $phoneTail: String, $after: String) {
  orders(batchId: $batchId, pickupPointId: $pickupPointId, status: $status, phoneTail: $phoneTail, first: 100, after: $after) {
    edges { node { id number customerName status placedAt total { amount currency } refunded { amount currency } batch { title } pickupPoint { name } } }
    pageInfo { hasNextPage endCursor } }
}`;
const ORDER = `query ConsoleOrder($id: ID!) { order(id: $id) { id number customerName status paymentReference placedAt paidAt cancelledAt pickedUpAt pickNumber
  total { amount currency } refunded { amount currency } batch { id title closedAt } pickupPoint { name address leader { displayName } }
  lines { id productName quantity refundedQuantity status unitPrice { amount currency } total { amount currency } }
  refunds { id createdAt quantity reason reasonCode refundedByKind refundedBy { displayName } amount { amount currency } line { productName } } } }`;
const REFUND = `mutation ConsoleOrderLinesRefund($id: ID!, $lines: [RefundLineInput!]!, $reason: RefundReason!, $note: String) {
  orderLinesRefund(orderId: $id, lines: $lines, reason: $reason, note: $note) { order { id status } ${ERR} } }`;
const REASONS = ['CUSTOMER_REQUEST', 'QUALITY', 'DAMAGED', 'SHORTAGE', 'OTHER'];

extend('zh-CN', {
  'console.refund.units': '退款件数：{product}', 'console.refund.reasonCode': '退款原因', 'console.refund.badUnits': '{product} 的退款件数须在 1 到 {n} 之间。',
  'console.refund.list': '退款记录', 'console.refund.none': '还没有退款。', 'console.refund.when': '时间', 'console.refund.product': '商品',
  'console.refund.qty': '件数', 'console.refund.amount': '金额', 'console.refund.why': '原因', 'console.refund.who': '操作人',
  'console.refund.reason.CUSTOMER_REQUEST': '顾客要求', 'console.refund.reason.QUALITY': '质量问题', 'console.refund.reason.DAMAGED': '破损',
  'console.refund.reason.SHORTAGE': '缺货', 'console.refund.reason.OTHER': '其他',
  'console.refund.by.USER': '账号', 'console.refund.by.API_KEY': 'API 密钥', 'console.refund.by.SYSTEM': '系统',
  'console.refund.left': '（可退 {n} 件）',
});
extend('en', {
  'console.refund.units': 'Units to refund: {product}', 'console.refund.reasonCode': 'Reason', 'console.refund.badUnits': 'Units to refund of {product}: between 1 and {n}.',
  'console.refund.list': 'Refunds made', 'console.refund.none': 'No refunds yet.', 'console.refund.when': 'When', 'console.refund.product': 'Product',
  'console.refund.qty': 'Units', 'console.refund.amount': 'Amount', 'console.refund.why': 'Why', 'console.refund.who': 'By',
  'console.refund.reason.CUSTOMER_REQUEST': 'Customer request', 'console.refund.reason.QUALITY': 'Quality problem', 'console.refund.reason.DAMAGED': 'Damaged',
  'console.refund.reason.SHORTAGE': 'Shortage', 'console.refund.reason.OTHER': 'Other',
  'console.refund.by.USER': 'Account', 'console.refund.by.API_KEY': 'API key', 'console.refund.by.SYSTEM': 'System',
  'console.refund.left': ' ({n} left)',
});
const STATUSES = ['PENDING_PAYMENT', 'PAID', 'PLACED', 'CONFIRMED', 'READY_FOR_PICKUP', 'PICKED_UP', 'CANCELLED'];

function timeline(o) {
  const steps = [['placedAt', o.placedAt], ['paidAt', o.paidAt], ['closedAt', o.batch.closedAt], ['pickedUpAt', o.pickedUpAt], ['cancelledAt', o.cancelledAt]]
    .filter(([, at]) => at).sort((a, b) => new Date(a[1]) - new Date(b[1]));
  if (Number(o.refunded.amount) > 0) steps.push(['refunded', null]);
  return h('ol', { class: 'timeline', id: 'order-timeline' }, steps.map(([key, at]) => h('li', { dataset: { step: key } },
    h('strong', {}, t(`console.orders.step.${key}`, { amount: money(o.refunded) })), at ? h('span', { class: 'muted' }, ` ${dateTime(at)}`) : null)));
}

function detail(id) {
  const el = h('div');
  const out = feedback({ id: 'refund-feedback', class: 'feedback sticky' });
  const load = () => fill(el, area(() => gql(ORDER, { id }), ({ order: o }) => {
    if (!o) return empty(t('console.notFound'));
    const refundable = o.lines.filter((l) => l.status === 'ACTIVE' && l.quantity > l.refundedQuantity);
    const units = new Map(refundable.map((l) => [l.id, h('input', { type: 'number', name: 'qty', id: `refund-q-${l.id}`, min: 1,
      max: l.quantity - l.refundedQuantity, step: 1, value: l.quantity - l.refundedQuantity, inputmode: 'numeric', dataset: { line: l.id } })]));
    const reasonCode = h('select', { id: 'refund-reason' }, REASONS.map((r) => h('option', { value: r }, t(`console.refund.reason.${r}`))));
    const form = h('form', { class: 'console-form', id: 'refund-form', novalidate: true },
      h('fieldset', {}, h('legend', {}, t('console.orders.refundLines')),
        refundable.map((l) => h('div', { class: 'refund-line' },
          h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'line', value: l.id }),
            ` ${l.productName} × ${l.quantity} · ${money(l.total)}`, l.refundedQuantity ? t('console.refund.left', { n: l.quantity - l.refundedQuantity }) : ''),
          h('div', { class: 'field' }, h('label', { for: `refund-q-${l.id}` }, t('console.refund.units', { product: l.productName })), units.get(l.id))))),
      h('div', { class: 'field' }, h('label', { for: 'refund-reason' }, t('console.refund.reasonCode')), reasonCode),
      h('button', { type: 'submit', class: 'danger', id: 'refund-submit' }, t('console.orders.refund')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const lineIds = [...form.querySelectorAll('input[name=line]:checked')].map((c) => c.value);
      if (!lineIds.length) { fill(out, h('div', { class: 'notice error', role: 'alert' }, h('p', {}, t('console.orders.pickLines')))); return; }
      const lines = [];
      for (const lineId of lineIds) {
        const line = refundable.find((l) => l.id === lineId);
        const input = units.get(lineId);
        const q = input.value.trim() === '' ? NaN : Number(input.value);
        const left = line.quantity - line.refundedQuantity;
        if (!Number.isInteger(q) || q < 1 || q > left) {
          fill(out, h('div', { class: 'notice error', role: 'alert' }, h('p', {}, t('console.refund.badUnits', { product: line.productName, n: left }))));
          return;
        }
        lines.push({ lineId, quantity: q });
      }
      const reason = await confirmAction(t('console.orders.refundConfirm', { number: o.number, n: lineIds.length }), t('console.orders.refund'), { reason: true });
      if (!reason) return;
      if (await act(form, out, async () => (await gql(REFUND, { id: o.id, lines, reason: reasonCode.value, note: reason })).orderLinesRefund, t('console.orders.refunded'))) setTimeout(load, 800);
    });
    const refunds = o.refunds.length ? table([
      ['console.refund.when', (r) => dateTime(r.createdAt)],
      ['console.refund.product', (r) => (r.line ? r.line.productName : '—')],
      ['console.refund.qty', (r) => (r.quantity == null ? '—' : String(r.quantity)), { num: true }],
      ['console.refund.amount', (r) => money(r.amount), { num: true }],
      ['console.refund.why', (r) => `${t(`console.refund.reason.${r.reasonCode}`)} · ${r.reason}`],
      ['console.refund.who', (r) => (r.refundedBy ? r.refundedBy.displayName : (r.refundedByKind ? t(`console.refund.by.${r.refundedByKind}`) : '—'))],
    ], o.refunds, { id: 'order-refunds' }) : empty(t('console.refund.none'));
    return h('div', { class: 'order-detail' },
      h('div', { class: 'row between wrap' }, h('h1', {}, t('console.orders.order', { number: o.number })), badge(o.status)),
      h('p', {}, `${o.customerName} · ${o.batch.title} · ${o.pickupPoint.name} (${o.pickupPoint.leader.displayName})`),
      h('p', {}, t('orders.total'), ': ', h('strong', {}, money(o.total)), Number(o.refunded.amount) > 0 ? ` · ${t('console.orders.refundedAmount', { amount: money(o.refunded) })}` : ''),
      section('console.orders.timeline', timeline(o),
        h('p', {}, h('a', { href: `#/console/activity?object=${encodeURIComponent(o.id)}`, class: 'history' }, t('console.activity.forThis')))),
      section('console.orders.lines', table([
        ['picklist.product', (l) => h('span', { class: l.status === 'CANCELLED' ? 'cancelled' : '' }, l.productName)],
        ['picklist.qty', (l) => String(l.quantity), { num: true }],
        ['console.batches.price', (l) => money(l.unitPrice), { num: true }],
        ['orders.total', (l) => money(l.total), { num: true }],
        ['orders.status', (l) => badge(l.status === 'ACTIVE' ? 'LINE_ACTIVE' : 'LINE_CANCELLED')],
      ], o.lines, { id: 'order-lines' })),
      section('console.orders.refund', refundable.length ? form : empty(t('console.orders.nothingToRefund'))),
      section('console.refund.list', refunds));
  }));
  load();
  return h('div', {}, out, el);
}

export function render({ main, params, query, navigate }) {
  if (params[0]) {
    fill(main, h('p', {}, h('a', { href: '#/console/orders' }, `← ${t('console.nav.orders')}`)), detail(params[0]));
    return null;
  }
  const results = h('div');
  const search = h('input', { id: 'order-search', type: 'search', inputmode: 'search', autocomplete: 'off', placeholder: t('console.orders.searchHint'), value: query.q || '' });
  let rows = [];
  const show = () => {
    const q = search.value.trim().replace(/^#/, '').toLowerCase();
    const shown = q ? rows.filter((o) => o.number.toLowerCase().includes(q) || o.customerName.toLowerCase().includes(q)) : rows;
    fill(results, shown.length ? h('div', {}, h('p', { class: 'muted' }, t('orders.count', { n: shown.length })), table([
      ['orders.number', (o) => h('a', { href: `#/console/orders/${encodeURIComponent(o.id)}` }, o.number)],
      ['orders.customer', (o) => o.customerName],
      ['orders.batch', (o) => o.batch.title],
      ['orders.point', (o) => o.pickupPoint.name],
      ['orders.total', (o) => money(o.total), { num: true }],
      ['orders.status', (o) => badge(o.status)],
      ['orders.placedAt', (o) => dateTime(o.placedAt)],
    ], shown, { id: 'orders' })) : empty(t(rows.length ? 'console.noMatch' : 'console.orders.none')));
  };
  search.addEventListener('input', show);
  const go = (key, value) => {
    const next = { ...query, [key]: value };
    if (!value) delete next[key];
    const qs = new URLSearchParams(next).toString();
    navigate(`#/console/orders${qs ? `?${qs}` : ''}`);
  };
  fill(main, h('h1', {}, t('console.orders.title')),
    area(() => gql(FILTERS), (d) => h('div', { class: 'filters' },
      h('div', { class: 'field' }, h('label', { for: 'order-search' }, t('console.search')), search),
      h('div', { class: 'field' }, h('label', { for: 'order-batch' }, t('orders.batch')),
        h('select', { id: 'order-batch', onchange: (e) => go('batch', e.target.value) }, h('option', { value: '' }, t('common.all')),
          d.batches.edges.map(({ node: b }) => h('option', { value: b.id, selected: b.id === query.batch }, b.title)))),
      h('div', { class: 'field' }, h('label', { for: 'order-point' }, t('orders.point')),
        h('select', { id: 'order-point', onchange: (e) => go('point', e.target.value) }, h('option', { value: '' }, t('common.all')),
          d.pickupPoints.edges.map(({ node: p }) => h('option', { value: p.id, selected: p.id === query.point }, p.name)))),
      h('div', { class: 'field' }, h('label', { for: 'order-status' }, t('orders.status')),
        h('select', { id: 'order-status', onchange: (e) => go('status', e.target.value) }, h('option', { value: '' }, t('common.all')),
          STATUSES.map((s) => h('option', { value: s, selected: s === query.status }, t(`status.${s}`))))),
      // The customer's phone's last four digits, asked of the service (the list holds 1,000 at most).
      h('div', { class: 'field' }, h('label', { for: 'order-phone' }, t('console.orders.phoneTail')),
        h('input', { id: 'order-phone', type: 'text', inputmode: 'numeric', maxlength: '4', pattern: '[0-9]{4}', autocomplete: 'off',
          value: query.phone || '', onchange: (e) => { const v = e.target.value.trim(); if (!v || /^[0-9]{4}$/.test(v)) go('phone', v); } })))),
    area(async () => {
      rows = await fetchAll(ORDERS, { batchId: query.batch || null, pickupPointId: query.point || null, status: query.status ? [query.status] : null,
        phoneTail: query.phone || null }, (d) => d.orders, 10);
      return rows;
    }, () => { show(); return results; }));
  return null;
}
