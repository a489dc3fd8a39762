// The pick list of a batch at a pickup point: totals per product, then per order; printable on A4 or an
// 80 mm receipt printer; "goods arrived" (deliveryReceive) turns its confirmed orders ready for pickup.
// Each order shows its pick number ("#12", written on its bag), never the customer's pickup code: the
// code is the customer's secret, which the leader checks on the pickup screen when it is shown.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { date, dateTime } from '../format.js';
import { area, badge, empty, explain, message } from '../ui.js';

const FIELDS = `batch { id title pickupDate status } pickupPoint { id name address }
  totals { productName unit quantity }
  orders { customerName pickNumber order { id number status } lines { productName unit quantity } }`;
const PICK_LIST = `query PickList($batchId: ID!, $pickupPointId: ID!) { pickList(batchId: $batchId, pickupPointId: $pickupPointId) { ${FIELDS} } }`;
const DELIVERY_RECEIVE = `mutation DeliveryReceive($batchId: ID!, $pickupPointId: ID!) {
  deliveryReceive(batchId: $batchId, pickupPointId: $pickupPointId) { ${FIELDS} }
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
    fill(actionStatus, h('div', { class: 'notice warning', role: 'alertdialog', 'aria-labelledby': 'arrive-q' },
      h('p', { id: 'arrive-q' }, t('picklist.arrivedConfirm')),
      h('div', { class: 'row wrap' },
        h('button', { type: 'button', class: 'primary', id: 'goods-arrived-yes', onclick: async (e) => {
          e.target.disabled = true;
          e.target.textContent = t('common.saving');
          try {
            const data = await gql(DELIVERY_RECEIVE, vars);
            show(data.deliveryReceive, message('success', t('picklist.arrivedDone', { n: waiting })));
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
        h('tbody', {}, list.totals.map((l) => h('tr', {}, h('td', {}, l.productName), h('td', {}, l.unit), h('td', { class: 'num' }, l.quantity))))) : empty(t('picklist.noOrders'))),
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
        h('ul', { class: 'lines' }, o.lines.map((l) => h('li', {}, `${l.productName} (${l.unit}) × ${l.quantity}`))))))));
}

// A constructed style sheet, not a <style> element: the page's CSP allows no inline styles.
const pageSheet = new CSSStyleSheet({ media: 'print' });

function setPageSize(size) {
  pageSheet.replaceSync(`@page { size: ${size}; margin: ${size === 'A4' ? '12mm' : '3mm'}; }`);
  if (!document.adoptedStyleSheets.includes(pageSheet)) {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, pageSheet];
  }
}
