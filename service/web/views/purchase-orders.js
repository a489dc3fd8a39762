// Supplier: purchase orders grouped by batch, with their status.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { date, dateTime, money } from '../format.js';
import { area, badge, edges, empty } from '../ui.js';

const PURCHASE_ORDERS = `query PurchaseOrders($after: String) {
  purchaseOrders(first: 100, after: $after) {
    edges { node { id number status createdAt totalCost { amount currency } supplier { id name } batch { id title pickupDate } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export function render({ main }) {
  fill(main, h('h1', {}, t('po.title')), area(async () => {
    const all = [];
    let after = null;
    for (let page = 0; page < 20; page += 1) {
      const data = await gql(PURCHASE_ORDERS, { after });
      all.push(...edges(data.purchaseOrders));
      if (!data.purchaseOrders.pageInfo.hasNextPage) break;
      after = data.purchaseOrders.pageInfo.endCursor;
    }
    return all;
  }, (pos) => {
    if (!pos.length) return empty(t('po.none'));
    const byBatch = new Map();
    for (const po of pos) {
      if (!byBatch.has(po.batch.id)) byBatch.set(po.batch.id, { batch: po.batch, pos: [] });
      byBatch.get(po.batch.id).pos.push(po);
    }
    return [...byBatch.values()].map(({ batch, pos: list }) => h('section', { class: 'batch-group' },
      h('h2', {}, batch.title, h('small', { class: 'muted' }, ` · ${t('today.pickupDate', { date: date(batch.pickupDate) })}`)),
      h('ul', { class: 'cards' }, list.map((po) => h('li', {},
        h('a', { class: 'card link-card', href: `#/purchase-order/${encodeURIComponent(po.id)}`, dataset: { number: po.number } },
          h('div', { class: 'row between' }, h('strong', {}, po.number), badge(po.status)),
          h('p', {}, `${po.supplier.name} · ${money(po.totalCost)}`),
          h('p', { class: 'muted' }, t('po.createdAt', { time: dateTime(po.createdAt) }))))))));
  }));
}
