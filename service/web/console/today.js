// Today: open and upcoming batches counting down with orders and GMV so far, and what waits for the operator.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { dateTime, fromMinor, money, toMinor } from '../format.js';
import { area, badge, countdownTimer, edges, empty, startCountdowns } from '../ui.js';
import { fetchAll, section } from './kit.js';

const TODAY = `query ConsoleToday {
  batches(status: [OPEN, SCHEDULED], first: 50) { edges { node { id title status opensAt closesAt pickupDate
    offers { id soldQuantity price { amount currency } product { name } } } } }
  leaders(status: PENDING, first: 50) { edges { node { id displayName phone } } }
  purchaseOrders(first: 50) { edges { node { id number status createdAt supplier { name } batch { title } } } }
  webhookSubscriptions { id url deliveries(status: [FAILED], first: 20) { id event attempts lastError lastStatusCode lastAttemptAt } }
}`;
const BATCH_ORDERS = `query ConsoleBatchOrders($batchId: ID!, $after: String) {
  orders(batchId: $batchId, first: 100, after: $after) { edges { node { id status total { amount currency } } } pageInfo { hasNextPage endCursor } }
}`;

export async function batchSales(batchId) {
  const orders = await fetchAll(BATCH_ORDERS, { batchId }, (d) => d.orders, 50);
  const live = orders.filter((o) => o.status !== 'CANCELLED');
  const currency = (live[0] || orders[0] || { total: { currency: 'CNY' } }).total.currency;
  const gmv = live.reduce((sum, o) => sum + toMinor(o.total.amount), 0n);
  return { count: live.length, gmv: fromMinor(gmv, currency) };
}

function batchCard(b) {
  const sales = area(() => batchSales(b.id), (s) => h('p', { class: 'sales' },
    h('span', { class: 'orders-count' }, t('console.today.orders', { n: s.count })), ' · ',
    h('span', { class: 'gmv' }, t('console.today.gmv', { amount: money(s.gmv) }))));
  return h('li', { class: 'card batch', dataset: { id: b.id } },
    h('div', { class: 'row between wrap' }, h('h3', {}, h('a', { href: `#/console/batches/${encodeURIComponent(b.id)}` }, b.title)), badge(b.status)),
    b.status === 'OPEN' ? countdownTimer(b.closesAt) : h('p', { class: 'muted' }, t('console.today.opensAt', { time: dateTime(b.opensAt) })),
    sales);
}

export function render({ main }) {
  let stop = () => {};
  fill(main, h('h1', {}, t('console.today.title')), area(() => gql(TODAY), (d) => {
    const batches = edges(d.batches);
    const pending = edges(d.leaders);
    const awaiting = edges(d.purchaseOrders).filter((p) => p.status === 'SENT');
    const failed = d.webhookSubscriptions.flatMap((s) => s.deliveries.map((x) => ({ ...x, url: s.url })));
    const out = h('div', { class: 'dashboard' },
      section('console.today.batches', batches.length
        ? h('ul', { class: 'cards batches', id: 'today-batches' }, batches.map(batchCard))
        : h('div', {}, empty(t('console.today.noBatches')), h('a', { class: 'button', href: '#/console/batches/new' }, t('console.batches.new')))),
      section('console.today.applications', pending.length
        ? h('ul', { class: 'plain', id: 'today-applications' }, pending.map((l) => h('li', {}, h('a', { href: '#/console/leaders' }, l.displayName), ' ', h('span', { class: 'muted' }, l.phone || ''))))
        : empty(t('console.today.noApplications'))),
      section('console.today.unacknowledged', awaiting.length
        ? h('ul', { class: 'plain', id: 'today-pos' }, awaiting.map((p) => h('li', {}, h('a', { href: `#/purchase-order/${encodeURIComponent(p.id)}` }, p.number), ` · ${p.supplier.name} · ${p.batch.title}`)))
        : empty(t('console.today.noUnacknowledged'))),
      section('console.today.failedWebhooks', failed.length
        ? h('ul', { class: 'plain', id: 'today-failed' }, failed.map((x) => h('li', {}, h('a', { href: '#/console/integrations' }, t(`event.${x.event}`)), ` · ${x.url} · ${x.lastStatusCode || x.lastError || ''}`)))
        : empty(t('console.today.noFailed'))));
    stop();
    stop = startCountdowns(out);
    return out;
  }));
  return () => stop();
}
