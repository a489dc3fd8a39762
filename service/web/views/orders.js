// Orders at my pickup points, by batch and status, with search by order number, customer name or
// 跟团号 (the short number a customer reads out across the counter).
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
    edges { node { id number batchSequence customerName status placedAt pickedUpAt total { amount currency }
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

  // The filters are drawn at once with the chosen values and get their choices when these load: a
  // failure (offline) leaves them as they are, and only the list says what went wrong, once.
  const select = (id, label, options, key) => {
    const el = h('select', { id, onchange: (e) => { filters[key] = e.target.value; keepInAddress(); loadOrders(); } });
    const setOptions = (choices) => {
      const known = filters[key] && !choices.some(([value]) => value === filters[key]) ? [[filters[key], '…']] : [];
      fill(el, h('option', { value: '' }, t('common.all')),
        [...known, ...choices].map(([value, text]) => h('option', { value, selected: value === filters[key] }, text)));
    };
    setOptions(options);
    return { field: h('div', { class: 'field' }, h('label', { for: id }, label), el), setOptions };
  };

  const batchFilter = select('filter-batch', t('orders.batch'), [], 'batch');
  const pointFilter = select('filter-point', t('orders.point'), [], 'point');
  let choicesLoaded = false;
  const loadChoices = () => {
    if (choicesLoaded) return Promise.resolve();
    return Promise.all([
      gql(BATCHES).then((data) => batchFilter.setOptions(
        edges(data.batches).map((b) => [b.id, `${b.title} (${date(b.pickupDate)})`]))),
      myPickupPoints(me).then((points) => pointFilter.setOptions(points.map((p) => [p.id, p.name]))),
    ]).then(() => { choicesLoaded = true; }, (e) => console.warn(e));
  };
  const statusFilter = select('filter-status', t('orders.status'), STATUSES.map((s) => [s, t(`status.${s}`)]), 'status');

  const search = h('input', { id: 'order-search', type: 'search', value: filters.q, autocomplete: 'off',
    oninput: (e) => { filters.q = e.target.value; keepInAddress(); showList(); } });
  const results = h('div', { class: 'results' });
  const listSlot = h('div', {});

  function matches(order) {
    const q = filters.q.trim().toLowerCase();
    return !q || order.number.toLowerCase().includes(q) || order.customerName.toLowerCase().includes(q)
      || String(order.batchSequence) === q;
  }

  function showList() {
    const shown = loaded.filter(matches);
    fill(results,
      h('p', { class: 'muted', role: 'status', id: 'order-count' }, t('orders.count', { n: shown.length })),
      shown.length ? h('ul', { class: 'cards orders' }, shown.map(orderCard)) : empty(t('orders.none')));
  }

  function loadOrders() {
    fill(listSlot, area(async () => {
      loadChoices(); // again with each try of the list, until the choices have come
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
      batchFilter.field, pointFilter.field, statusFilter.field,
      h('div', { class: 'field' }, h('label', { for: 'order-search' }, t('orders.search')), search)),
    listSlot);
  loadOrders();
}

function orderCard(o) {
  return h('li', { class: 'card order', dataset: { number: o.number } },
    h('div', { class: 'row between' },
      h('strong', { class: 'batch-sequence' }, t('pickup.seqNumber', { n: o.batchSequence })),
      badge(o.status)),
    h('p', { class: 'order-number muted' }, `#${o.number}`),
    h('p', {}, h('span', { class: 'customer' }, o.customerName), ' · ', money(o.total)),
    h('p', { class: 'muted' }, `${o.batch.title} · ${o.pickupPoint.name} · ${dateTime(o.placedAt)}`),
    h('ul', { class: 'lines' }, o.lines.map((l) => h('li', { class: l.status === 'CANCELLED' ? 'cancelled' : null },
      `${l.productName} × ${l.quantity}`))));
}
