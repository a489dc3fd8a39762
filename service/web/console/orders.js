// Orders: find by number, batch, pickup point and status; the order's timeline; refunds.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
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
  lines { id productName quantity status unitPrice { amount currency } total { amount currency } } } }`;
const REFUND = `mutation ConsoleOrderRefund($id: ID!, $lineIds: [ID!]!, $reason: String!) { orderRefund(id: $id, lineIds: $lineIds, reason: $reason) { order { id status } ${ERR} } }`;
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
    const refundable = o.lines.filter((l) => l.status === 'ACTIVE');
    const form = h('form', { class: 'console-form', id: 'refund-form', novalidate: true },
      h('fieldset', {}, h('legend', {}, t('console.orders.refundLines')),
        refundable.map((l) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'line', value: l.id }), ` ${l.productName} × ${l.quantity} · ${money(l.total)}`))),
      h('button', { type: 'submit', class: 'danger', id: 'refund-submit' }, t('console.orders.refund')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const lineIds = [...form.querySelectorAll('input[name=line]:checked')].map((c) => c.value);
      if (!lineIds.length) { fill(out, h('div', { class: 'notice error', role: 'alert' }, h('p', {}, t('console.orders.pickLines')))); return; }
      const reason = await confirmAction(t('console.orders.refundConfirm', { number: o.number, n: lineIds.length }), t('console.orders.refund'), { reason: true });
      if (!reason) return;
      if (await act(form, out, async () => (await gql(REFUND, { id: o.id, lineIds, reason })).orderRefund, t('console.orders.refunded'))) setTimeout(load, 800);
    });
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
      section('console.orders.refund', refundable.length ? form : empty(t('console.orders.nothingToRefund'))));
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
