// Coupons: templates (create, pause, end) and their report: claimed, used, expired, discount given against the budget.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { extend, t } from '../i18n.js';
import { money, timeZone, zonedToIso } from '../format.js';
import { area, empty } from '../ui.js';
import { ERR, act, confirmAction, downloadCsv, feedback, field, section, table, val, whenAvailable } from './kit.js';

extend('zh-CN', {
  'console.nav.coupons': '优惠券', 'console.coupons.title': '优惠券', 'console.coupons.intro': '创建券模板，设定数量与预算；已领取的券在模板结束后仍可使用。',
  'console.coupons.new': '新建券模板', 'console.coupons.name': '名称', 'console.coupons.kind': '类型',
  'console.coupons.kind.AMOUNT_OFF': '满减', 'console.coupons.kind.PERCENT_OFF': '折扣', 'console.coupons.kind.UNIT_OFF': '单品立减',
  'console.coupons.amountOff': '减免金额', 'console.coupons.percentOff': '减免比例（%）', 'console.coupons.maxDiscount': '最多减', 'console.coupons.threshold': '满多少可用',
  'console.coupons.totalQuantity': '发放总量', 'console.coupons.budget': '预算', 'console.coupons.perCustomerLimit': '每人限领', 'console.coupons.validDays': '领取后有效天数',
  'console.coupons.create': '创建', 'console.coupons.created': '已创建券模板。', 'console.coupons.none': '还没有券模板。',
  'console.coupons.claimed': '已领取', 'console.coupons.used': '已使用', 'console.coupons.reserved': '待支付', 'console.coupons.expired': '已过期',
  'console.coupons.given': '已优惠 / 预算', 'console.coupons.state': '状态', 'console.coupons.active': '进行中', 'console.coupons.paused': '已暂停', 'console.coupons.ended': '已结束',
  'console.coupons.soldOut': '已领完', 'console.coupons.pause': '暂停', 'console.coupons.resume': '恢复', 'console.coupons.end': '结束',
  'console.coupons.endConfirm': '结束"{name}"？已领取的券仍可使用。', 'console.coupons.done': '已更新。', 'console.coupons.csv': '导出 CSV', 'console.coupons.noLimit': '不限',
  'code.COUPON_EXHAUSTED': '优惠券已领完或预算已用完。', 'code.COUPON_LIMIT_REACHED': '已达到每人限领数量。', 'code.COUPON_NOT_APPLICABLE': '该优惠券不适用于此订单。', 'code.COUPON_EXPIRED': '优惠券已过期。',
  'console.coupons.scope': '适用范围', 'console.coupons.scope.all': '全部团购', 'console.coupons.scope.batch': '整期：{title}',
  'console.coupons.audience': '谁可以领', 'console.coupons.audience.ANYONE': '所有顾客', 'console.coupons.audience.NEW_CUSTOMERS': '仅新顾客（未下过单）',
  'console.coupons.validFrom': '生效时间', 'console.coupons.validUntil': '截止时间', 'console.coupons.stacks': '可与拼团价同时使用',
  'field.offerIds': '适用商品', 'field.batchId': '适用团购', 'field.validFrom': '生效时间', 'field.validUntil': '截止时间', 'field.perCustomerLimit': '每人限领',
  'field.amountOff': '减免金额', 'field.percentOff': '减免比例', 'field.maxDiscount': '最多减', 'field.threshold': '门槛', 'field.totalQuantity': '发放总量', 'field.budget': '预算', 'field.validDaysAfterClaim': '有效天数',
});
extend('en', {
  'console.nav.coupons': 'Coupons', 'console.coupons.title': 'Coupons', 'console.coupons.intro': 'Create coupon templates with a quantity and a budget; coupons already claimed stay usable after a template ends.',
  'console.coupons.new': 'New coupon template', 'console.coupons.name': 'Name', 'console.coupons.kind': 'Kind',
  'console.coupons.kind.AMOUNT_OFF': 'Amount off', 'console.coupons.kind.PERCENT_OFF': 'Percent off', 'console.coupons.kind.UNIT_OFF': 'Off one unit',
  'console.coupons.amountOff': 'Amount off', 'console.coupons.percentOff': 'Percent off (%)', 'console.coupons.maxDiscount': 'At most', 'console.coupons.threshold': 'Minimum spend',
  'console.coupons.totalQuantity': 'Total quantity', 'console.coupons.budget': 'Budget', 'console.coupons.perCustomerLimit': 'Per customer', 'console.coupons.validDays': 'Valid days after claim',
  'console.coupons.create': 'Create', 'console.coupons.created': 'Coupon template created.', 'console.coupons.none': 'No coupon template yet.',
  'console.coupons.claimed': 'Claimed', 'console.coupons.used': 'Used', 'console.coupons.reserved': 'Awaiting payment', 'console.coupons.expired': 'Expired',
  'console.coupons.given': 'Given / budget', 'console.coupons.state': 'State', 'console.coupons.active': 'Active', 'console.coupons.paused': 'Paused', 'console.coupons.ended': 'Ended',
  'console.coupons.soldOut': 'All claimed', 'console.coupons.pause': 'Pause', 'console.coupons.resume': 'Resume', 'console.coupons.end': 'End',
  'console.coupons.endConfirm': 'End "{name}"? Coupons already claimed stay usable.', 'console.coupons.done': 'Updated.', 'console.coupons.csv': 'Export CSV', 'console.coupons.noLimit': 'No limit',
  'code.COUPON_EXHAUSTED': 'The coupons or their budget are used up.', 'code.COUPON_LIMIT_REACHED': 'The per-customer limit is reached.', 'code.COUPON_NOT_APPLICABLE': 'This coupon does not apply to this order.', 'code.COUPON_EXPIRED': 'This coupon has expired.',
  'console.coupons.scope': 'Applies to', 'console.coupons.scope.all': 'Every batch', 'console.coupons.scope.batch': 'All of {title}',
  'console.coupons.audience': 'Who may claim', 'console.coupons.audience.ANYONE': 'Any customer', 'console.coupons.audience.NEW_CUSTOMERS': 'New customers only (no order yet)',
  'console.coupons.validFrom': 'Valid from', 'console.coupons.validUntil': 'Valid until', 'console.coupons.stacks': 'Combines with 拼团 prices',
  'field.offerIds': 'Applies to', 'field.batchId': 'Applies to', 'field.validFrom': 'Valid from', 'field.validUntil': 'Valid until', 'field.perCustomerLimit': 'Per customer',
  'field.amountOff': 'Amount off', 'field.percentOff': 'Percent off', 'field.maxDiscount': 'At most', 'field.threshold': 'Minimum spend', 'field.totalQuantity': 'Total quantity', 'field.budget': 'Budget', 'field.validDaysAfterClaim': 'Valid days',
});

const REPORT = `query ConsoleCouponReport { couponReport { template { id name kind active paused endedAt totalQuantity }
  claimed reserved used expired discountGiven { amount currency } discountUsed { amount currency } budget { amount currency } } }`;
const T = `template { id active paused endedAt } ${ERR}`;
const CREATE = `mutation ConsoleCouponCreate($input: CouponTemplateInput!) { couponTemplateCreate(input: $input) { ${T} } }`;
const PAUSE = `mutation ConsoleCouponPause($id: ID!, $paused: Boolean!) { couponTemplatePause(id: $id, paused: $paused) { ${T} } }`;
const END = `mutation ConsoleCouponEnd($id: ID!) { couponTemplateEnd(id: $id) { ${T} } }`;
const KINDS = ['AMOUNT_OFF', 'PERCENT_OFF', 'UNIT_OFF'];
const AUDIENCES = ['ANYONE', 'NEW_CUSTOMERS'];
const BATCHES = `query ConsoleCouponBatches { batches(first: 100) { edges { node { id title status offers { id product { name } } } } } }`;
const SCOPABLE = ['DRAFT', 'SCHEDULED', 'OPEN'];

// The scope select: the whole tenant, a batch not yet closed ("b:<id>"), or one of its offers ("o:<id>").
async function fillScopes(select) {
  const d = await gql(BATCHES);
  for (const b of d.batches.edges.map((e) => e.node).filter((n) => SCOPABLE.includes(n.status))) {
    select.append(h('option', { value: `b:${b.id}` }, t('console.coupons.scope.batch', { title: b.title })));
    for (const o of b.offers) select.append(h('option', { value: `o:${o.id}` }, `${b.title} · ${o.product.name}`));
  }
}

function state(r) {
  const tpl = r.template;
  if (tpl.endedAt) return 'ended';
  if (tpl.paused) return 'paused';
  return tpl.active ? 'active' : 'soldOut';
}

function createForm(out, reload) {
  const form = h('form', { id: 'coupon-form', class: 'grid-form' },
    field('coupon-name', 'console.coupons.name', { required: true, maxlength: 100 }),
    field('coupon-kind', 'console.coupons.kind', { tag: 'select', value: 'AMOUNT_OFF', options: KINDS.map((k) => [k, t(`console.coupons.kind.${k}`)]) }),
    field('coupon-amount', 'console.coupons.amountOff', { inputmode: 'decimal' }),
    field('coupon-percent', 'console.coupons.percentOff', { inputmode: 'decimal' }),
    field('coupon-max', 'console.coupons.maxDiscount', { inputmode: 'decimal' }),
    field('coupon-threshold', 'console.coupons.threshold', { inputmode: 'decimal' }),
    field('coupon-total', 'console.coupons.totalQuantity', { inputmode: 'numeric' }),
    field('coupon-budget', 'console.coupons.budget', { inputmode: 'decimal' }),
    field('coupon-limit', 'console.coupons.perCustomerLimit', { inputmode: 'numeric', value: '1' }),
    field('coupon-days', 'console.coupons.validDays', { inputmode: 'numeric' }),
    field('coupon-scope', 'console.coupons.scope', { tag: 'select', value: '', options: [['', t('console.coupons.scope.all')]] }),
    field('coupon-audience', 'console.coupons.audience', { tag: 'select', value: 'ANYONE', options: AUDIENCES.map((a) => [a, t(`console.coupons.audience.${a}`)]) }),
    field('coupon-from', 'console.coupons.validFrom', { type: 'datetime-local' }),
    field('coupon-until', 'console.coupons.validUntil', { type: 'datetime-local' }),
    h('p', { class: 'hint' }, t('console.batches.zone', { zone: timeZone() })),
    h('div', { class: 'field' }, h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'coupon-stacks', name: 'coupon-stacks' }), ` ${t('console.coupons.stacks')}`)),
    h('div', { class: 'field' }, h('span', { class: 'label-spacer', 'aria-hidden': 'true' }, ' '), h('button', { type: 'submit', class: 'primary', id: 'coupon-create' }, t('console.coupons.create'))));
  fillScopes(form.querySelector('#coupon-scope')).catch(() => {});  // without batches: the whole tenant only
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (id) => val(form, id) || null;
    const int = (id) => (v(id) === null ? null : Number.parseInt(v(id), 10));
    const kind = v('coupon-kind');
    const input = {
      name: val(form, 'coupon-name'), kind, amountOff: kind === 'PERCENT_OFF' ? null : v('coupon-amount'),
      percentOff: kind === 'PERCENT_OFF' ? v('coupon-percent') : null, maxDiscount: kind === 'PERCENT_OFF' ? v('coupon-max') : null,
      threshold: v('coupon-threshold'), totalQuantity: int('coupon-total'), budget: v('coupon-budget'),
      perCustomerLimit: int('coupon-limit') ?? 1, validDaysAfterClaim: int('coupon-days'),
      audience: v('coupon-audience') || 'ANYONE', validFrom: zonedToIso(v('coupon-from')), validUntil: zonedToIso(v('coupon-until')),
      stacksWithGroupPrice: form.querySelector('#coupon-stacks').checked,
    };
    const scope = v('coupon-scope') || '';
    if (scope.startsWith('b:')) input.batchId = scope.slice(2);
    if (scope.startsWith('o:')) input.offerIds = [scope.slice(2)];
    const done = await act(form, out, async () => (await gql(CREATE, { input })).couponTemplateCreate, t('console.coupons.created'));
    if (done) { form.reset(); reload(); }
  });
  return form;
}

function actions(r, out, reload) {
  const tpl = r.template;
  if (tpl.endedAt) return '';
  const pause = h('button', { type: 'button', class: 'secondary pause', onclick: async () => {
    if (await act(pause, out, async () => (await gql(PAUSE, { id: tpl.id, paused: !tpl.paused })).couponTemplatePause, t('console.coupons.done'))) reload();
  } }, t(tpl.paused ? 'console.coupons.resume' : 'console.coupons.pause'));
  const end = h('button', { type: 'button', class: 'danger end', onclick: async () => {
    if (!await confirmAction(t('console.coupons.endConfirm', { name: tpl.name }), t('console.coupons.end'))) return;
    if (await act(end, out, async () => (await gql(END, { id: tpl.id })).couponTemplateEnd, t('console.coupons.done'))) reload();
  } }, t('console.coupons.end'));
  return h('div', { class: 'row wrap actions' }, pause, end);
}

export function render({ main }) {
  const out = feedback({ id: 'coupons-feedback', class: 'feedback sticky' });
  const list = h('div');
  const load = () => fill(list, area(() => gql(REPORT), (d) => {
    const rows = d.couponReport.map((r) => ({ ...r, id: r.template.id }));
    if (!rows.length) return empty(t('console.coupons.none'));
    const csv = h('button', { type: 'button', class: 'secondary', id: 'coupons-csv', onclick: () => downloadCsv('coupon-report.csv',
      ['name', 'kind', 'claimed', 'reserved', 'used', 'expired', 'discount_given', 'budget', 'currency'],
      rows.map((r) => [r.template.name, r.template.kind, r.claimed, r.reserved, r.used, r.expired, r.discountGiven.amount, r.budget ? r.budget.amount : '', r.discountGiven.currency])) },
    t('console.coupons.csv'));
    return h('div', {}, h('div', { class: 'row end' }, csv), table([
      ['console.coupons.name', (r) => h('span', {}, r.template.name, h('small', { class: 'block muted' }, t(`console.coupons.kind.${r.template.kind}`)))],
      ['console.coupons.claimed', (r) => `${r.claimed} / ${r.template.totalQuantity ?? t('console.coupons.noLimit')}`, { num: true }],
      ['console.coupons.reserved', (r) => String(r.reserved), { num: true }],
      ['console.coupons.used', (r) => String(r.used), { num: true }],
      ['console.coupons.expired', (r) => String(r.expired), { num: true }],
      ['console.coupons.given', (r) => `${money(r.discountGiven)} / ${r.budget ? money(r.budget) : t('console.coupons.noLimit')}`, { num: true }],
      ['console.coupons.state', (r) => h('span', { class: `badge coupon-${state(r)}` }, t(`console.coupons.${state(r)}`))],
      ['console.actions', (r) => actions(r, out, load)],
    ], rows, { id: 'coupon-templates' }));
  }));
  fill(main, h('h1', {}, t('console.coupons.title')), h('p', { class: 'lead' }, t('console.coupons.intro')),
    whenAvailable(['couponReport', 'couponTemplateCreate'], 'console.nav.coupons', () => {
      load();
      return h('div', {}, out, section('console.coupons.new', createForm(out, load)), list);
    }));
  return null;
}
