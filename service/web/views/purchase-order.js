// Supplier: one purchase order, its lines with the quantity for each pickup point; acknowledge, ship, CSV.
import { h, fill } from '../dom.js';
import { gql, download } from '../api.js';
import { t } from '../i18n.js';
import { date, dateTime, money } from '../format.js';
import { area, badge, empty, explain, message, userErrorText } from '../ui.js';

const FIELDS = `id number status createdAt csvUrl totalCost { amount currency }
  supplier { id name } batch { id title pickupDate }
  lines { quantity product { id name unit } unitCost { amount currency } total { amount currency }
    deliveries { quantity pickupPoint { id name address } } }`;
const PURCHASE_ORDER = `query PurchaseOrder($id: ID!) { node(id: $id) { ... on PurchaseOrder { ${FIELDS} } } }`;
const ACKNOWLEDGE = `mutation PurchaseOrderAcknowledge($id: ID!) {
  purchaseOrderAcknowledge(id: $id) { purchaseOrder { ${FIELDS} } errors { code field message } }
}`;
const SHIP = `mutation PurchaseOrderMarkShipped($id: ID!) {
  purchaseOrderMarkShipped(id: $id) { purchaseOrder { ${FIELDS} } errors { code field message } }
}`;

export function render({ main, params }) {
  const id = params[0];
  const slot = h('div', {});
  fill(main,
    h('p', {}, h('a', { class: 'back', href: '#/purchase-orders' }, `← ${t('po.title')}`)),
    h('h1', {}, t('po.number')),
    slot);
  const show = (po, note = null) => fill(slot, detail(po, show, note));
  fill(slot, area(() => gql(PURCHASE_ORDER, { id }), (data) => (data.node && data.node.number ? detail(data.node, show) : empty(t('po.notFound')))));
}

function detail(po, show, note = null) {
  const status = h('div', { 'aria-live': 'polite', id: 'po-status' }, note);
  const act = (mutation, field, doneKey) => async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      const data = await gql(mutation, { id: po.id });
      const payload = data[field];
      if (payload.errors.length) { fill(status, message('error', userErrorText(payload.errors))); button.disabled = false; return; }
      show(payload.purchaseOrder, message('success', t(doneKey)));
    } catch (err) {
      fill(status, message('error', explain(err)));
      button.disabled = false;
    }
  };
  const csv = async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      const file = `${po.number}.csv`;
      await download(po.csvUrl, file);
      fill(status, message('success', t('po.csvDone', { file })));
    } catch (err) {
      fill(status, message('error', explain(err)));
    } finally {
      button.disabled = false;
    }
  };
  return h('article', { class: 'purchase-order', dataset: { number: po.number } },
    h('div', { class: 'card' },
      h('div', { class: 'row between' }, h('h2', {}, po.number), badge(po.status)),
      h('p', {}, `${po.supplier.name} · ${po.batch.title} · ${t('today.pickupDate', { date: date(po.batch.pickupDate) })}`),
      h('p', {}, `${t('po.totalCost')}: `, h('strong', {}, money(po.totalCost))),
      h('p', { class: 'muted' }, t('po.createdAt', { time: dateTime(po.createdAt) })),
      h('div', { class: 'row wrap actions' },
        po.status === 'SENT' ? h('button', { type: 'button', class: 'primary', id: 'po-acknowledge', onclick: act(ACKNOWLEDGE, 'purchaseOrderAcknowledge', 'po.acknowledged') }, t('po.acknowledge')) : null,
        po.status !== 'SHIPPED' ? h('button', { type: 'button', class: po.status === 'SENT' ? 'secondary' : 'primary', id: 'po-ship', onclick: act(SHIP, 'purchaseOrderMarkShipped', 'po.shipped') }, t('po.ship')) : null,
        h('button', { type: 'button', class: 'secondary', id: 'po-csv', onclick: csv }, t('po.csv'))),
      status),
    h('h2', {}, t('po.lines')),
    h('ul', { class: 'cards po-lines' }, po.lines.map((l) => h('li', { class: 'card' },
      h('div', { class: 'row between' }, h('strong', {}, `${l.product.name}`), h('strong', { class: 'qty' }, `× ${l.quantity}`)),
      h('p', { class: 'muted' }, `${l.product.unit} · ${t('po.unitCost')} ${money(l.unitCost)} · ${t('po.lineTotal')} ${money(l.total)}`),
      h('table', { class: 'compact deliveries', 'aria-label': `${t('po.deliveries')}: ${l.product.name}` },
        h('caption', {}, t('po.deliveries')),
        h('tbody', {}, l.deliveries.map((d) => h('tr', {},
          h('th', { scope: 'row' }, d.pickupPoint.name, h('small', { class: 'muted block' }, d.pickupPoint.address)),
          h('td', { class: 'num' }, d.quantity)))))))));
}
