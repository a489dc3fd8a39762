// Supplier: one purchase order, its lines with the quantity for each pickup point; acknowledge, ship
// (with the units actually shipped: a shortfall is refunded to customers), CSV; once shipped, what
// was shipped short and the pickup points' discrepancy report (missing or damaged on arrival).
import { h, fill } from '../dom.js';
import { gql, download } from '../api.js';
import { extend, t } from '../i18n.js';
import { date, dateTime, money } from '../format.js';
import { area, badge, empty, explain, message, userErrorText } from '../ui.js';

extend('zh-CN', {
  'po.shipHint': '少发时请改成实际发货件数：缺少的件数会按规则退款给顾客，发货后不能再改。',
  'po.shipQuantity': '实发件数：{product}',
  'po.shipInvalid': '实发件数须在 0 到订购件数之间。',
  'po.shipPoint': '实发到 {point}',
  'po.shipPoints': '按自提点填写',
  'po.shippedShort': '订购 {ordered} · 实发 {shipped} · 缺 {shorted}',
  'po.discrepancies': '到货差异',
  'po.noDiscrepancies': '自提点没有报告差异。',
  'po.discrepancy': '订购 {ordered} · 发货 {shipped} · 到货 {received} · 破损 {damaged}',
  'po.notReceived': '订购 {ordered} · 发货 {shipped} · 尚未确认到货',
  'po.receivedAt': '确认时间 {time}',
  'po.photo': '照片 {n}',
});
extend('en', {
  'po.shipHint': 'Shipping fewer? Enter the units actually shipped: customers are refunded for the rest. It cannot be changed once shipped.',
  'po.shipQuantity': 'Units shipped: {product}',
  'po.shipInvalid': 'Units shipped must be between 0 and the units ordered.',
  'po.shipPoint': 'Shipped to {point}',
  'po.shipPoints': 'Per pickup point',
  'po.shippedShort': 'Ordered {ordered} · shipped {shipped} · short {shorted}',
  'po.discrepancies': 'Discrepancies on arrival',
  'po.noDiscrepancies': 'No pickup point reported a difference.',
  'po.discrepancy': 'Ordered {ordered} · shipped {shipped} · received {received} · damaged {damaged}',
  'po.notReceived': 'Ordered {ordered} · shipped {shipped} · arrival not confirmed yet',
  'po.receivedAt': 'Confirmed {time}',
  'po.photo': 'Photo {n}',
});

const FIELDS = `id number status createdAt csvUrl totalCost { amount currency }
  supplier { id name } batch { id title pickupDate }
  lines { quantity shipped shorted product { id name unit } unitCost { amount currency } total { amount currency }
    deliveries { quantity pickupPoint { id name address } } }
  discrepancies { ordered shipped received damaged note photoUrls receivedAt product { id name unit }
    pickupPoint { id name } }`;
const PURCHASE_ORDER = `query PurchaseOrder($id: ID!) { node(id: $id) { ... on PurchaseOrder { ${FIELDS} } } }`;
const ACKNOWLEDGE = `mutation PurchaseOrderAcknowledge($id: ID!) {
  purchaseOrderAcknowledge(id: $id) { purchaseOrder { ${FIELDS} } errors { code field message } }
}`;
const SHIP = `mutation PurchaseOrderShip($id: ID!, $lines: [ShippedLineInput!]) {
  purchaseOrderShip(id: $id, lines: $lines) { purchaseOrder { ${FIELDS} } errors { code field message } }
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
  const shipping = po.status !== 'SHIPPED';
  const inputs = shipping ? po.lines.map((l, i) => h('input', { type: 'number', class: 'po-ship-quantity', id: `po-ship-q-${i}`,
    min: 0, max: l.quantity, step: 1, value: l.quantity, inputmode: 'numeric', dataset: { product: l.product.id } })) : [];
  // Optionally per pickup point (the tenant's PER_POINT policy shorts exactly those points): editing a
  // point's units makes the product's total their sum.
  const perPoint = shipping ? po.lines.map((l, i) => l.deliveries.map((d, j) => h('input', { type: 'number',
    class: 'po-ship-point', id: `po-ship-p-${i}-${j}`, min: 0, max: d.quantity, step: 1, value: d.quantity, inputmode: 'numeric',
    dataset: { point: d.pickupPoint.id },
    oninput: () => { inputs[i].value = String(perPoint[i].reduce((n, x) => n + (Number(x.value) || 0), 0)); } }))) : [];
  const act = (mutation, field, doneKey, variables = () => ({})) => async (e) => {
    const button = e.currentTarget;
    const extra = variables();
    if (extra === null) { fill(status, message('error', t('po.shipInvalid'))); return; }
    button.disabled = true;
    try {
      const data = await gql(mutation, { id: po.id, ...extra });
      const payload = data[field];
      if (payload.errors.length) { fill(status, message('error', userErrorText(payload.errors))); button.disabled = false; return; }
      show(payload.purchaseOrder, message('success', t(doneKey)));
    } catch (err) {
      fill(status, message('error', explain(err)));
      button.disabled = false;
    }
  };
  // The units shipped per product, each checked against what was ordered before anything is sent.
  const whole = (input, max) => {
    const q = input.value.trim() === '' ? NaN : Number(input.value);
    return Number.isInteger(q) && q >= 0 && q <= max ? q : null;
  };
  const shipped = () => {
    const lines = [];
    for (const [i, l] of po.lines.entries()) {
      const points = l.deliveries.map((d, j) => whole(perPoint[i][j], d.quantity));
      const total = whole(inputs[i], l.quantity);
      if (points.includes(null) || total === null) return null;
      const edited = points.some((q, j) => q !== l.deliveries[j].quantity);
      if (edited && total !== points.reduce((n, q) => n + q, 0)) return null;
      if (edited) l.deliveries.forEach((d, j) => lines.push({ productId: l.product.id, pickupPointId: d.pickupPoint.id, quantity: points[j] }));
      else lines.push({ productId: l.product.id, quantity: total });
    }
    return { lines };
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
      shipping ? h('p', { class: 'muted', id: 'po-ship-hint' }, t('po.shipHint')) : null,
      h('div', { class: 'row wrap actions' },
        po.status === 'SENT' ? h('button', { type: 'button', class: 'primary', id: 'po-acknowledge', onclick: act(ACKNOWLEDGE, 'purchaseOrderAcknowledge', 'po.acknowledged') }, t('po.acknowledge')) : null,
        shipping ? h('button', { type: 'button', class: po.status === 'SENT' ? 'secondary' : 'primary', id: 'po-ship', onclick: act(SHIP, 'purchaseOrderShip', 'po.shipped', shipped) }, t('po.ship')) : null,
        h('button', { type: 'button', class: 'secondary', id: 'po-csv', onclick: csv }, t('po.csv'))),
      status),
    h('h2', {}, t('po.lines')),
    h('ul', { class: 'cards po-lines' }, po.lines.map((l, i) => h('li', { class: 'card', dataset: { product: l.product.id } },
      h('div', { class: 'row between' }, h('strong', {}, `${l.product.name}`), h('strong', { class: 'qty' }, `× ${l.quantity}`)),
      h('p', { class: 'muted' }, `${l.product.unit} · ${t('po.unitCost')} ${money(l.unitCost)} · ${t('po.lineTotal')} ${money(l.total)}`),
      shipping ? h('div', { class: 'row wrap' }, h('label', { for: `po-ship-q-${i}` }, t('po.shipQuantity', { product: l.product.name })), inputs[i]) : null,
      l.shipped !== null ? h('p', { class: l.shorted ? 'po-shipped short' : 'po-shipped' },
        t('po.shippedShort', { ordered: l.quantity, shipped: l.shipped, shorted: l.shorted })) : null,
      h('table', { class: 'compact deliveries', 'aria-label': `${t('po.deliveries')}: ${l.product.name}` },
        h('caption', {}, t('po.deliveries')),
        h('tbody', {}, l.deliveries.map((d) => h('tr', {},
          h('th', { scope: 'row' }, d.pickupPoint.name, h('small', { class: 'muted block' }, d.pickupPoint.address)),
          h('td', { class: 'num' }, d.quantity))))),
      shipping && l.deliveries.length > 1 ? h('details', { class: 'po-ship-points' }, h('summary', {}, t('po.shipPoints')),
        l.deliveries.map((d, j) => h('div', { class: 'row wrap' },
          h('label', { for: `po-ship-p-${i}-${j}` }, t('po.shipPoint', { point: d.pickupPoint.name })), perPoint[i][j]))) : null))),
    po.status === 'SHIPPED' ? discrepancies(po) : null);
}

// What each pickup point said of its delivery, where it differs from what was ordered.
function discrepancies(po) {
  return h('section', { id: 'po-discrepancies', 'aria-labelledby': 'po-discrepancies-title' },
    h('h2', { id: 'po-discrepancies-title' }, t('po.discrepancies')),
    po.discrepancies.length ? h('ul', { class: 'cards' }, po.discrepancies.map((d) => h('li', { class: 'card discrepancy',
      dataset: { product: d.product.id, point: d.pickupPoint.id } },
      h('div', { class: 'row between' }, h('strong', {}, d.product.name), h('span', {}, d.pickupPoint.name)),
      h('p', {}, d.received === null
        ? t('po.notReceived', { ordered: d.ordered, shipped: d.shipped })
        : t('po.discrepancy', { ordered: d.ordered, shipped: d.shipped, received: d.received, damaged: d.damaged })),
      d.note ? h('p', { class: 'po-note' }, d.note) : null,
      d.photoUrls.length ? h('p', { class: 'po-photos' }, d.photoUrls.map((url, i) => h('a', {
        href: url, target: '_blank', rel: 'noopener noreferrer' }, ` ${t('po.photo', { n: i + 1 })}`))) : null,
      d.receivedAt ? h('p', { class: 'muted' }, t('po.receivedAt', { time: dateTime(d.receivedAt) })) : null)))
      : empty(t('po.noDiscrepancies')));
}
