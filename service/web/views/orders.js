// Orders at my pickup points, by batch and status, with search by order number or customer name.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { date, dateTime, money } from '../format.js';
import { myPickupPoints } from '../points.js';
import { area, badge, edges, empty } from '../ui.js';

const BATCHES = `query OrderFilterBatches {
  batches(status: [OPEN, CLOSED, COMPLETED], first: 50) { edges { node { id title status pickupDate } } }
}`;
const ORDERS = `query Orders($batchId: ID, $pickupPointId: ID, $status: [OrderStatus!], $after: String) {
  orders(batchId: $batchId, pickupPointId: $pickupPointId, status: $status, first: 100, after: $after) {
    edges { node { id number customerName status placedAt pickedUpAt total { amount currency }
      batch { id title } pickupPoint { id name } lines { productName quantity status } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const STATUSES = ['PENDING_PAYMENT', 'PAID', 'PLACED', 'CONFIRMED', 'READY_FOR_PICKUP', 'PICKED_UP', 'CANCELLED'];
const MAX_PAGES = 20;

export function render({ main, me, query }) {
  const filters = { batch: query.batch || '', point: query.point || '', status: query.status || '', q: query.q || '' };
  let loaded = [];

  const keepInAddress = () => {
    const params = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    history.replaceState(null, '', `#/orders${params.toString() ? '?' + params : ''}`);
  };

  const select = (id, label, options, key) => h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, onchange: (e) => { filters[key] = e.target.value; keepInAddress(); loadOrders(); } },
      h('option', { value: '' }, t('common.all')),
      options.map(([value, text]) => h('option', { value, selected: value === filters[key] }, text))));

  const batchSlot = h('div', { class: 'slot' });
  const pointSlot = h('div', { class: 'slot' });
  fill(batchSlot, area(() => gql(BATCHES), (data) =>
    select('filter-batch', t('orders.batch'), edges(data.batches).map((b) => [b.id, `${b.title} (${date(b.pickupDate)})`]), 'batch')));
  fill(pointSlot, area(() => myPickupPoints(me), (points) =>
    select('filter-point', t('orders.point'), points.map((p) => [p.id, p.name]), 'point')));

  const search = h('input', { id: 'order-search', type: 'search', value: filters.q, autocomplete: 'off',
    oninput: (e) => { filters.q = e.target.value; keepInAddress(); showList(); } });
  const results = h('div', { class: 'results' });
  const listSlot = h('div', {});

  function matches(order) {
    const q = filters.q.trim().toLowerCase();
    return !q || order.number.toLowerCase().includes(q) || order.customerName.toLowerCase().includes(q);
  }

  function showList() {
    const shown = loaded.filter(matches);
    fill(results,
      h('p', { class: 'muted', role: 'status', id: 'order-count' }, t('orders.count', { n: shown.length })),
      shown.length ? h('ul', { class: 'cards orders' }, shown.map(orderCard)) : empty(t('orders.none')));
  }

  function loadOrders() {
    fill(listSlot, area(async () => {
      const all = [];
      let after = null;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const data = await gql(ORDERS, {
          batchId: filters.batch || null, pickupPointId: filters.point || null,
          status: filters.status ? [filters.status] : null, after,
        });
        all.push(...edges(data.orders));
        if (!data.orders.pageInfo.hasNextPage) break;
        after = data.orders.pageInfo.endCursor;
      }
      return all;
    }, (orders) => {
      loaded = orders;
      showList();
      const link = filters.batch && filters.point
        ? h('a', { class: 'button secondary', href: `#/picklist/${encodeURIComponent(filters.batch)}/${encodeURIComponent(filters.point)}` }, t('orders.pickList'))
        : null;
      return [link, results];
    }));
  }

  fill(main,
    h('h1', {}, t('orders.title')),
    h('div', { class: 'filters card' },
      batchSlot, pointSlot,
      select('filter-status', t('orders.status'), STATUSES.map((s) => [s, t(`status.${s}`)]), 'status'),
      h('div', { class: 'field' }, h('label', { for: 'order-search' }, t('orders.search')), search)),
    listSlot);
  loadOrders();
}

function orderCard(o) {
  return h('li', { class: 'card order', dataset: { number: o.number } },
    h('div', { class: 'row between' },
      h('strong', { class: 'order-number' }, `#${o.number}`),
      badge(o.status)),
    h('p', {}, h('span', { class: 'customer' }, o.customerName), ' · ', money(o.total)),
    h('p', { class: 'muted' }, `${o.batch.title} · ${o.pickupPoint.name} · ${dateTime(o.placedAt)}`),
    h('ul', { class: 'lines' }, o.lines.map((l) => h('li', { class: l.status === 'CANCELLED' ? 'cancelled' : null },
      `${l.productName} × ${l.quantity}`))));
}
