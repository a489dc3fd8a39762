// After-sales (售后) in the storefront: on a picked-up order, the customer asks for a refund of units
// of a line (a reason, a note, a photo link), sees each request's state and the leader's answer, and
// can withdraw one while it waits. The API says when it is too late (the shop's window after pickup).
import { gql } from './api.js';
import { t, lang, when } from './i18n.js';
import { h, fill, note } from './dom.js';

const WORDS = {
  'zh-CN': {
    'as.title': '售后', 'as.hint': '提货后发现问题？可在规定时间内为商品申请退款，由团长审核。',
    'as.ask': '申请售后', 'as.quantity': '申请退款件数', 'as.reason': '原因', 'as.note': '问题描述',
    'as.photo': '照片链接（https://，可选）', 'as.submit': '提交申请', 'as.cancel': '撤销申请',
    'as.asked': '已申请退 {n} 件', 'as.approved': '已同意，退 {n} 件', 'as.rejected': '未通过：{reason}',
    'as.sent': '已提交，等待团长审核。', 'as.withdrawn': '申请已撤销。',
    'as.quantityInvalid': '件数须在 1 到 {n} 之间。',
    'as.status.REQUESTED': '待审核', 'as.status.APPROVED': '已同意', 'as.status.REJECTED': '未通过', 'as.status.CANCELLED': '已撤销',
    'as.reason.QUALITY': '质量问题', 'as.reason.DAMAGED': '破损', 'as.reason.SHORTAGE': '少件', 'as.reason.CUSTOMER_REQUEST': '不想要了',
    'as.reason.OTHER': '其他',
  },
  en: {
    'as.title': 'After-sales', 'as.hint': 'Something wrong after pickup? Ask for a refund of some units, within the shop\'s time limit; the group leader decides.',
    'as.ask': 'Ask for a refund', 'as.quantity': 'Units to refund', 'as.reason': 'Reason', 'as.note': 'What is wrong',
    'as.photo': 'Photo link (https://, optional)', 'as.submit': 'Send the request', 'as.cancel': 'Withdraw the request',
    'as.asked': 'Asked to refund {n}', 'as.approved': 'Approved: {n} refunded', 'as.rejected': 'Declined: {reason}',
    'as.sent': 'Sent: the group leader will decide.', 'as.withdrawn': 'Request withdrawn.',
    'as.quantityInvalid': 'Between 1 and {n} units.',
    'as.status.REQUESTED': 'Waiting', 'as.status.APPROVED': 'Approved', 'as.status.REJECTED': 'Declined', 'as.status.CANCELLED': 'Withdrawn',
    'as.reason.QUALITY': 'Quality problem', 'as.reason.DAMAGED': 'Damaged', 'as.reason.SHORTAGE': 'Units missing', 'as.reason.CUSTOMER_REQUEST': 'Changed my mind',
    'as.reason.OTHER': 'Other',
  },
};
const REASONS = ['QUALITY', 'DAMAGED', 'SHORTAGE', 'CUSTOMER_REQUEST', 'OTHER'];

function w(key, params = {}) {
  const text = (WORDS[lang] || WORDS.en)[key] ?? WORDS.en[key] ?? t(key);
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

const FIELDS = 'id status quantity approvedQuantity reason decisionReason requestedAt line { id }';
const LINES = `query ShopAfterSalesLines($id: ID!) { order(id: $id) { id status lines { id productName quantity refundedQuantity status } } }`;
const REQUESTS = `query ShopAfterSales($after: String) {
  afterSalesRequests(first: 50, after: $after) { edges { node { ${FIELDS} order { id } } } pageInfo { hasNextPage endCursor } }
}`;
const ASK = `mutation ShopAfterSalesRequest($input: AfterSalesRequestInput!) {
  afterSalesRequest(input: $input) { request { id } errors { code field message } }
}`;
const CANCEL = `mutation ShopAfterSalesCancel($id: ID!) {
  afterSalesCancel(id: $id) { request { id } errors { code field message } }
}`;

// The API's messages are already in the customer's language (Accept-Language).
const said = (errors) => errors.map((e) => e.message).join(' ');

async function myRequests(orderId) {
  const found = [];
  let after = null;
  for (let page = 0; page < 10; page += 1) {
    const { afterSalesRequests: conn } = await gql(REQUESTS, { after });
    found.push(...conn.edges.map((e) => e.node).filter((r) => r.order.id === orderId));
    if (!conn.pageInfo.hasNextPage) break;
    after = conn.pageInfo.endCursor;
  }
  return found;
}

/** The order screen's after-sales card: null unless the order was picked up. */
export async function afterSalesSection(order, timeZone) {
  if (order.status !== 'PICKED_UP') return null;
  const section = h('section', { class: 'card after-sales', id: 'after-sales' });
  const draw = async (message = null) => {
    const [{ order: fresh }, requests] = await Promise.all([gql(LINES, { id: order.id }), myRequests(order.id)]);
    const open = new Set(requests.filter((r) => r.status === 'REQUESTED').map((r) => r.line.id));
    fill(section,
      h('h2', {}, w('as.title')),
      h('p', { class: 'muted' }, w('as.hint')),
      message,
      h('ul', { class: 'cards' }, fresh.lines.filter((l) => l.status !== 'CANCELLED' || l.refundedQuantity).map((l) => h('li', {
        class: 'card as-line', 'data-line': l.id },
        h('strong', {}, `${l.productName} × ${l.quantity}`),
        requests.filter((r) => r.line.id === l.id).map((r) => requestRow(r, timeZone, draw)),
        l.status === 'ACTIVE' && l.quantity > l.refundedQuantity && !open.has(l.id)
          ? askForm(l, draw) : null))));
  };
  await draw();
  return section;
}

function requestRow(r, timeZone, draw) {
  const status = h('div', { 'aria-live': 'polite' });
  const outcome = {
    REQUESTED: w('as.asked', { n: r.quantity }), APPROVED: w('as.approved', { n: r.approvedQuantity }),
    REJECTED: w('as.rejected', { reason: r.decisionReason || '' }), CANCELLED: null,
  }[r.status];
  return h('div', { class: 'as-request', 'data-request': r.id, 'data-status': r.status },
    h('p', {}, h('span', { class: `badge ${r.status}` }, w(`as.status.${r.status}`)), ' ', outcome),
    h('p', { class: 'muted' }, w(`as.reason.${r.reason}`), ' · ', when(r.requestedAt, timeZone)),
    r.status === 'REQUESTED' ? h('button', { type: 'button', class: 'as-cancel', onclick: async (e) => {
      e.target.disabled = true;
      const { afterSalesCancel: done } = await gql(CANCEL, { id: r.id });
      if (done.errors.length) { e.target.disabled = false; return fill(status, note('error', said(done.errors))); }
      await draw(note('success', w('as.withdrawn')));
    } }, w('as.cancel')) : null,
    status);
}

function askForm(line, draw) {
  const left = line.quantity - line.refundedQuantity;
  const id = (name) => `as-${name}-${line.id}`;
  const status = h('div', { 'aria-live': 'polite' });
  const quantity = h('input', { type: 'number', id: id('q'), min: 1, max: left, step: 1, value: left, inputmode: 'numeric' });
  const reason = h('select', { id: id('r') }, REASONS.map((r) => h('option', { value: r }, w(`as.reason.${r}`))));
  const text = h('input', { type: 'text', id: id('n'), maxlength: 500 });
  const photo = h('input', { type: 'url', id: id('p'), maxlength: 500, placeholder: 'https://' });
  const form = h('form', { class: 'as-form', hidden: true, novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const q = quantity.value.trim() === '' ? NaN : Number(quantity.value);
    if (!Number.isInteger(q) || q < 1 || q > left) return fill(status, note('error', w('as.quantityInvalid', { n: left })));
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    const input = { lineId: line.id, quantity: q, reason: reason.value, note: text.value.trim() || null,
      photoUrls: photo.value.trim() ? [photo.value.trim()] : [] };
    const { afterSalesRequest: done } = await gql(ASK, { input });
    if (done.errors.length) { button.disabled = false; return fill(status, note('error', said(done.errors))); }
    await draw(note('success', w('as.sent')));
  } },
  h('label', { for: id('q') }, w('as.quantity'), quantity),
  h('label', { for: id('r') }, w('as.reason'), reason),
  h('label', { for: id('n') }, w('as.note'), text),
  h('label', { for: id('p') }, w('as.photo'), photo),
  h('button', { type: 'submit', class: 'primary' }, w('as.submit')),
  status);
  const open = h('button', { type: 'button', class: 'as-ask', onclick: () => { form.hidden = false; open.hidden = true; quantity.focus(); } }, w('as.ask'));
  return h('div', {}, open, form);
}
