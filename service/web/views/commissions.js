// My commissions by batch: pending (until pickup), earned (picked up), reversed (refunded).
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { date, fromMinor, money, toMinor } from '../format.js';
import { area, badge, edges, empty } from '../ui.js';

const COMMISSIONS = `query MyCommissions($after: String) {
  commissions(first: 100, after: $after) {
    edges { node { id status amount { amount currency } order { id number customerName status batch { id title pickupDate } } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const STATUSES = [['PENDING', 'commissions.pending'], ['EARNED', 'commissions.earned'], ['REVERSED', 'commissions.reversed']];

export function render({ main }) {
  fill(main, h('h1', {}, t('commissions.title')), area(async () => {
    const all = [];
    let after = null;
    for (let page = 0; page < 20; page += 1) {
      const data = await gql(COMMISSIONS, { after });
      all.push(...edges(data.commissions));
      if (!data.commissions.pageInfo.hasNextPage) break;
      after = data.commissions.pageInfo.endCursor;
    }
    return all;
  }, (items) => {
    if (!items.length) return empty(t('commissions.none'));
    const batches = new Map();
    for (const c of items) {
      const b = c.order.batch;
      if (!batches.has(b.id)) batches.set(b.id, { batch: b, currency: c.amount.currency, sums: { PENDING: 0n, EARNED: 0n, REVERSED: 0n }, items: [] });
      const entry = batches.get(b.id);
      entry.sums[c.status] += toMinor(c.amount.amount);
      entry.items.push(c);
    }
    return h('ul', { class: 'cards commissions' }, [...batches.values()].map((e) => h('li', { class: 'card', dataset: { batch: e.batch.id } },
      h('h2', {}, e.batch.title),
      h('p', { class: 'muted' }, t('today.pickupDate', { date: date(e.batch.pickupDate) })),
      h('dl', { class: 'sums' }, STATUSES.map(([status, key]) => h('div', { class: `sum sum-${status.toLowerCase()}` },
        h('dt', {}, t(key)), h('dd', {}, money(fromMinor(e.sums[status], e.currency)))))),
      h('details', {},
        h('summary', {}, t('commissions.details', { n: e.items.length })),
        h('table', { class: 'compact' }, h('tbody', {}, e.items.map((c) => h('tr', { dataset: { order: c.order.number } },
          h('td', {}, `#${c.order.number}`), h('td', {}, c.order.customerName),
          h('td', { class: 'num' }, money(c.amount)), h('td', {}, badge(c.status))))))))));
  }));
}
