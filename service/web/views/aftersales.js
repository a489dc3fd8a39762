// Leader (and admins): the after-sales queue (售后) at the leader's pickup points; approve all or
// part of a request (refunded at once), or reject it with a reason.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { extend, t } from '../i18n.js';
import { dateTime, money } from '../format.js';
import { area, badge, edges, empty, explain, message, userErrorText } from '../ui.js';

extend('zh-CN', {
  'nav.aftersales': '售后',
  'as.title': '售后申请',
  'as.filter': '状态',
  'as.none': '没有售后申请。',
  'as.asked': '申请退 {n} 件（共 {of} 件）',
  'as.order': '订单 {number} · {customer}',
  'as.requestedAt': '申请时间 {time}',
  'as.photos': '照片',
  'as.photo': '照片 {n}',
  'as.quantity': '同意件数',
  'as.approve': '同意并退款',
  'as.reason': '拒绝原因',
  'as.reject': '拒绝',
  'as.approved': '已同意：退 {n} 件',
  'as.rejected': '已拒绝：{reason}',
  'as.reasonNeeded': '请填写拒绝原因。',
  'as.unitPrice': '单价 {price}',
  'reason.SHORTAGE': '缺货', 'reason.DAMAGED': '破损', 'reason.QUALITY': '质量问题',
  'reason.CUSTOMER_REQUEST': '顾客要求', 'reason.OTHER': '其他',
  'status.REQUESTED': '待处理', 'status.APPROVED': '已同意', 'status.REJECTED': '已拒绝',
});
extend('en', {
  'nav.aftersales': 'After-sales',
  'as.title': 'After-sales requests',
  'as.filter': 'Status',
  'as.none': 'No after-sales requests.',
  'as.asked': 'Asks to refund {n} of {of}',
  'as.order': 'Order {number} · {customer}',
  'as.requestedAt': 'Requested {time}',
  'as.photos': 'Photos',
  'as.photo': 'Photo {n}',
  'as.quantity': 'Units to approve',
  'as.approve': 'Approve and refund',
  'as.reason': 'Why it is rejected',
  'as.reject': 'Reject',
  'as.approved': 'Approved: {n} refunded',
  'as.rejected': 'Rejected: {reason}',
  'as.reasonNeeded': 'Say why it is rejected.',
  'as.unitPrice': 'Unit price {price}',
  'reason.SHORTAGE': 'Shortage', 'reason.DAMAGED': 'Damaged', 'reason.QUALITY': 'Quality problem',
  'reason.CUSTOMER_REQUEST': 'Customer request', 'reason.OTHER': 'Other',
  'status.REQUESTED': 'Waiting', 'status.APPROVED': 'Approved', 'status.REJECTED': 'Rejected',
});

const FIELDS = `id status quantity approvedQuantity reason note photoUrls requestedAt decidedAt decisionReason
  order { id number customerName } line { id productName quantity unitPrice { amount currency } }
  pickupPoint { id name }`;
const REQUESTS = `query AfterSalesRequests($status: AfterSalesStatus, $after: String) {
  afterSalesRequests(status: $status, first: 50, after: $after) {
    edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor }
  }
}`;
const APPROVE = `mutation AfterSalesApprove($id: ID!, $quantity: Int) {
  afterSalesApprove(id: $id, quantity: $quantity) { request { ${FIELDS} } errors { code field message } }
}`;
const REJECT = `mutation AfterSalesReject($id: ID!, $reason: String!) {
  afterSalesReject(id: $id, reason: $reason) { request { ${FIELDS} } errors { code field message } }
}`;
const STATUSES = ['REQUESTED', 'APPROVED', 'REJECTED', 'CANCELLED'];

export function render({ main, query }) {
  const status = STATUSES.includes(query.status) ? query.status : (query.status === 'ALL' ? null : 'REQUESTED');
  const list = h('div', { id: 'as-list' });
  const select = h('select', { id: 'as-status', onchange: (e) => { location.hash = `#/aftersales?status=${e.target.value}`; } },
    h('option', { value: 'ALL', selected: status === null }, t('common.all')),
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, t(`status.${s}`))));
  fill(main, h('h1', {}, t('as.title')),
    h('div', { class: 'row wrap' }, h('label', { for: 'as-status' }, t('as.filter')), select),
    list);
  fill(list, area(async () => {
    const all = [];
    let after = null;
    for (let page = 0; page < 10; page += 1) {
      const data = await gql(REQUESTS, { status, after });
      all.push(...edges(data.afterSalesRequests));
      if (!data.afterSalesRequests.pageInfo.hasNextPage) break;
      after = data.afterSalesRequests.pageInfo.endCursor;
    }
    return all;
  }, (requests) => (requests.length
    ? h('ul', { class: 'cards' }, requests.map((r) => h('li', {}, card(r))))
    : empty(t('as.none')))));
}

function card(r) {
  const slot = h('article', { class: 'card after-sales', dataset: { id: r.id, status: r.status } });
  fill(slot, ...content(r, slot));
  return slot;
}

function content(r, slot, note = null) {
  const status = h('div', { 'aria-live': 'polite', class: 'as-status' }, note);
  const redraw = (request, done) => fill(slot, ...content(request, slot, message('success', done)));
  const send = async (button, mutation, variables, field, done) => {
    button.disabled = true;
    try {
      const payload = (await gql(mutation, variables))[field];
      if (payload.errors.length) { fill(status, message('error', userErrorText(payload.errors))); button.disabled = false; return; }
      slot.dataset.status = payload.request.status;
      redraw(payload.request, done(payload.request));
    } catch (err) {
      fill(status, message('error', explain(err)));
      button.disabled = false;
    }
  };
  const quantity = h('input', { type: 'number', class: 'as-quantity', min: 1, max: r.quantity, value: r.quantity,
    inputmode: 'numeric', id: `as-q-${r.id}` });
  const reason = h('input', { type: 'text', class: 'as-reason', maxlength: 500, id: `as-r-${r.id}` });
  const actions = r.status === 'REQUESTED' ? h('div', { class: 'as-actions' },
    h('div', { class: 'row wrap' },
      h('label', { for: `as-q-${r.id}` }, t('as.quantity')), quantity,
      h('button', { type: 'button', class: 'primary as-approve', onclick: (e) => send(e.currentTarget, APPROVE,
        { id: r.id, quantity: Number(quantity.value) }, 'afterSalesApprove',
        (q) => t('as.approved', { n: q.approvedQuantity })) }, t('as.approve'))),
    h('div', { class: 'row wrap' },
      h('label', { for: `as-r-${r.id}` }, t('as.reason')), reason,
      h('button', { type: 'button', class: 'secondary as-reject', onclick: (e) => {
        if (!reason.value.trim()) { fill(status, message('error', t('as.reasonNeeded'))); return; }
        send(e.currentTarget, REJECT, { id: r.id, reason: reason.value }, 'afterSalesReject',
          (q) => t('as.rejected', { reason: q.decisionReason }));
      } }, t('as.reject')))) : null;
  return [
    h('div', { class: 'row between' }, h('strong', {}, r.line.productName), badge(r.status)),
    h('p', {}, t('as.order', { number: r.order.number, customer: r.order.customerName }), ' · ', r.pickupPoint.name),
    h('p', {}, h('strong', {}, t('as.asked', { n: r.quantity, of: r.line.quantity })), ' · ', t(`reason.${r.reason}`),
      ' · ', t('as.unitPrice', { price: money(r.line.unitPrice) })),
    r.note ? h('p', { class: 'as-note' }, r.note) : null,
    r.photoUrls.length ? h('p', { class: 'as-photos' }, `${t('as.photos')}: `, r.photoUrls.map((url, i) => h('a', {
      href: url, target: '_blank', rel: 'noopener noreferrer' }, ` ${t('as.photo', { n: i + 1 })}`))) : null,
    h('p', { class: 'muted' }, t('as.requestedAt', { time: dateTime(r.requestedAt) })),
    r.status === 'APPROVED' ? h('p', {}, t('as.approved', { n: r.approvedQuantity })) : null,
    r.status === 'REJECTED' ? h('p', {}, t('as.rejected', { reason: r.decisionReason })) : null,
    actions,
    status,
  ];
}
