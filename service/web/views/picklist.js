// The pick list of a batch at a pickup point: totals per product, then per order; printable on A4 or an
// 80 mm receipt printer; "goods arrived" (deliveryConfirm: what arrived per product, missing or damaged
// units refunded) turns its confirmed orders ready for pickup.
// Each order shows its pick number ("#12", written on its bag), never the customer's pickup code: the
// code is the customer's secret, which the leader checks on the pickup screen when it is shown.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { extend, t } from '../i18n.js';
import { date, dateTime } from '../format.js';
import { area, badge, empty, explain, message, userErrorText } from '../ui.js';

// Receiving (deliveryConfirm): what arrived per product; missing or damaged units are refunded.
extend('zh-CN', {
  'picklist.receiveHint': '如有缺少或破损，请改成实际到货件数并填写破损件数：这些件数会按规则退款给顾客（默认后下单的先退），并通知供应商。',
  'picklist.received': '到货件数',
  'picklist.damaged': '其中破损',
  'picklist.receiveNote': '说明（给供应商）',
  'picklist.receiveInvalid': '到货件数须在 0 到发货件数之间，破损件数不能超过到货件数。',
  'picklist.shippedShort': '发货 {shipped} · 缺 {shorted}',
  'picklist.lineShort': '缺 {n}',
  'picklist.receivedDone': '已确认到货：缺少或破损的 {n} 件已退款，并已通知供应商。',
});
extend('en', {
  'picklist.receiveHint': 'Something missing or damaged? Enter the units that arrived and how many of them are damaged: those units are refunded to customers (the latest orders first) and the supplier is told.',
  'picklist.received': 'Units arrived',
  'picklist.damaged': 'Of those, damaged',
  'picklist.receiveNote': 'Note for the supplier',
  'picklist.receiveInvalid': 'Units arrived must be between 0 and those shipped, damaged at most those arrived.',
  'picklist.shippedShort': 'Shipped {shipped} · short {shorted}',
  'picklist.lineShort': 'short {n}',
  'picklist.receivedDone': 'Arrival confirmed: {n} missing or damaged unit(s) refunded, and the supplier told.',
});

const FIELDS = `batch { id title pickupDate status } pickupPoint { id name address } receivedAt
  totals { productId productName unit quantity shipped shorted }
  orders { customerName pickNumber order { id number status } lines { productName unit quantity shorted } }`;
const PICK_LIST = `query PickList($batchId: ID!, $pickupPointId: ID!) { pickList(batchId: $batchId, pickupPointId: $pickupPointId) { ${FIELDS} } }`;
const DELIVERY_RECEIVE = `mutation DeliveryReceive($batchId: ID!, $pickupPointId: ID!) {
  deliveryReceive(batchId: $batchId, pickupPointId: $pickupPointId) { ${FIELDS} }
}`;
const DELIVERY_CONFIRM = `mutation DeliveryConfirm($batchId: ID!, $pickupPointId: ID!, $lines: [ReceivedLineInput!]) {
  deliveryConfirm(batchId: $batchId, pickupPointId: $pickupPointId, lines: $lines) {
    pickList { ${FIELDS} } errors { code field message }
  }
}`;

export function render({ main, params }) {
  const [batchId, pickupPointId] = params;
  const vars = { batchId, pickupPointId };
  const slot = h('div', {});
  const show = (list, note = null) => fill(slot, sheet(list, vars, show, note));
  fill(main,
    h('p', { class: 'no-print' }, h('a', { class: 'back', href: `#/orders?batch=${encodeURIComponent(batchId)}&point=${encodeURIComponent(pickupPointId)}` }, `← ${t('nav.orders')}`)),
    h('h1', {}, t('picklist.title')),
    slot);
  fill(slot, area(() => gql(PICK_LIST, vars), (data) => sheet(data.pickList, vars, show)));
  return () => document.body.classList.remove('print-receipt');
}

function sheet(list, vars, show, note = null) {
  const waiting = list.orders.filter((o) => o.order.status === 'CONFIRMED').length;
  const actionStatus = h('div', { class: 'no-print', 'aria-live': 'polite' }, note);
  const arrived = waiting ? h('button', { type: 'button', class: 'primary', id: 'goods-arrived', onclick: () => {
    // A second, explicit step: the customers are notified and that cannot be taken back.
    const form = receiving(list);
    const problem = h('div', { 'aria-live': 'polite' });
    form.element.addEventListener('input', () => fill(problem));
    fill(actionStatus, h('div', { class: 'notice warning', role: 'alertdialog', 'aria-labelledby': 'arrive-q' },
      h('p', { id: 'arrive-q' }, t('picklist.arrivedConfirm')),
      form.element,
      problem,
      h('div', { class: 'row wrap' },
        h('button', { type: 'button', class: 'primary', id: 'goods-arrived-yes', onclick: async (e) => {
          const lines = form.lines();
          if (lines === null) { fill(problem, message('error', t('picklist.receiveInvalid'))); return; }
          e.target.disabled = true;
          e.target.textContent = t('common.saving');
          try {
            if (!lines.length) { // everything arrived as shipped
              const data = await gql(DELIVERY_RECEIVE, vars);
              show(data.deliveryReceive, message('success', t('picklist.arrivedDone', { n: waiting })));
              return;
            }
            const payload = (await gql(DELIVERY_CONFIRM, { ...vars, lines })).deliveryConfirm;
            if (payload.errors.length) {
              fill(problem, message('error', userErrorText(payload.errors)));
              e.target.disabled = false;
              e.target.textContent = t('picklist.arrivedYes');
              return;
            }
            const lost = lines.reduce((n, l) => n + form.shippedOf(l.productId) - l.received + l.damaged, 0);
            show(payload.pickList, message('success', t('picklist.receivedDone', { n: lost })));
          } catch (err) {
            fill(actionStatus, message('error', explain(err)));
          }
        } }, t('picklist.arrivedYes')),
        h('button', { type: 'button', class: 'secondary', onclick: () => fill(actionStatus) }, t('common.cancel')))));
    actionStatus.querySelector('#goods-arrived-yes').focus();
  } }, t('picklist.arrived')) : null;

  const print = (receipt) => () => {
    document.body.classList.toggle('print-receipt', receipt);
    setPageSize(receipt ? '80mm 297mm' : 'A4'); // a receipt printer feeds its roll page after page
    window.print();
  };

  return h('article', { class: 'picklist' },
    h('header', { class: 'sheet-head' },
      h('h2', {}, list.batch.title),
      h('p', {}, `${list.pickupPoint.name} · ${t('today.pickupDate', { date: date(list.batch.pickupDate) })}`),
      h('p', { class: 'muted' }, list.pickupPoint.address),
      h('p', { class: 'muted print-only' }, t('picklist.printedAt', { time: dateTime(new Date().toISOString()) }))),
    h('div', { class: 'row wrap no-print actions' },
      arrived,
      h('button', { type: 'button', class: 'secondary', onclick: print(false) }, t('picklist.printA4')),
      h('button', { type: 'button', class: 'secondary', onclick: print(true) }, t('picklist.printReceipt'))),
    actionStatus,
    h('section', { 'aria-labelledby': 'totals-title' },
      h('h3', { id: 'totals-title' }, t('picklist.totals')),
      list.totals.length ? h('table', { class: 'totals' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('picklist.product')), h('th', { scope: 'col' }, t('picklist.unit')), h('th', { scope: 'col', class: 'num' }, t('picklist.qty')))),
        h('tbody', {}, list.totals.map((l) => h('tr', { dataset: { product: l.productId || '' } },
          h('td', {}, l.productName, l.shipped != null && l.shorted
            ? h('small', { class: 'muted block short' }, t('picklist.shippedShort', { shipped: l.shipped, shorted: l.shorted })) : null),
          h('td', {}, l.unit), h('td', { class: 'num' }, l.quantity))))) : empty(t('picklist.noOrders'))),
    h('section', { 'aria-labelledby': 'per-order-title' },
      h('h3', { id: 'per-order-title' }, t('picklist.byOrder')),
      list.orders.some((o) => o.pickNumber != null) ? h('p', { class: 'hint' }, t('picklist.bagHint')) : null,
      h('ol', { class: 'pick-orders' }, list.orders.map((o) => h('li', { class: 'pick-order', dataset: { number: o.order.number } },
        h('div', { class: 'row between' },
          h('strong', {},
            o.pickNumber != null ? h('span', { class: 'pick-number', 'aria-label': t('picklist.bag', { n: o.pickNumber }) }, `#${o.pickNumber}`) : null,
            ` ${o.customerName}`),
          badge(o.order.status)),
        h('p', { class: 'muted order-number' }, `${t('orders.number')} `, h('span', { class: 'mono' }, o.order.number)),
        h('ul', { class: 'lines' }, o.lines.map((l) => h('li', {}, `${l.productName} (${l.unit}) × ${l.quantity}`,
          l.shorted ? h('span', { class: 'short' }, ` (${t('picklist.lineShort', { n: l.shorted })})`) : null))))))));
}

// Per product: the units that arrived (as shipped unless changed) and, of those, damaged, with a
// note for the supplier. lines(): only the products that differ (none: all arrived), or null when a
// number is out of range.
function receiving(list) {
  const rows = list.totals.filter((l) => l.productId).map((l, i) => {
    const shipped = l.shipped != null ? l.shipped : l.quantity;
    const received = h('input', { type: 'number', class: 'receive-quantity', id: `receive-q-${i}`, min: 0, max: shipped,
      step: 1, value: shipped, inputmode: 'numeric' });
    const damaged = h('input', { type: 'number', class: 'receive-damaged', id: `receive-d-${i}`, min: 0, max: shipped,
      step: 1, value: 0, inputmode: 'numeric' });
    const noteInput = h('input', { type: 'text', class: 'receive-note', id: `receive-n-${i}`, maxlength: 500 });
    const element = h('fieldset', { class: 'receive-line', dataset: { product: l.productId } },
      h('legend', {}, `${l.productName} (${l.unit}) × ${shipped}`),
      h('label', { for: `receive-q-${i}` }, t('picklist.received')), received,
      h('label', { for: `receive-d-${i}` }, t('picklist.damaged')), damaged,
      h('label', { for: `receive-n-${i}` }, t('picklist.receiveNote')), noteInput);
    return { productId: l.productId, shipped, received, damaged, note: noteInput, element };
  });
  const whole = (input) => (input.value.trim() === '' ? NaN : Number(input.value));
  return {
    element: h('div', { class: 'receiving' }, h('p', { class: 'hint' }, t('picklist.receiveHint')), rows.map((r) => r.element)),
    shippedOf: (productId) => rows.find((r) => r.productId === productId).shipped,
    lines: () => {
      const out = [];
      for (const r of rows) {
        const received = whole(r.received);
        const damaged = whole(r.damaged);
        if (!Number.isInteger(received) || !Number.isInteger(damaged) || received < 0 || received > r.shipped
          || damaged < 0 || damaged > received) return null;
        const text = r.note.value.trim();
        if (received !== r.shipped || damaged > 0 || text) {
          out.push({ productId: r.productId, received, damaged, ...(text ? { note: text } : {}) });
        }
      }
      return out;
    },
  };
}

// A constructed style sheet, not a <style> element: the page's CSP allows no inline styles.
const pageSheet = new CSSStyleSheet({ media: 'print' });

function setPageSize(size) {
  pageSheet.replaceSync(`@page { size: ${size}; margin: ${size === 'A4' ? '12mm' : '3mm'}; }`);
  if (!document.adoptedStyleSheets.includes(pageSheet)) {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, pageSheet];
  }
}
