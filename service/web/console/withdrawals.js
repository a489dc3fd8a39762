// Withdrawals: leaders' requests approved or rejected (with a reason); paying is the brand's back
// end's (withdrawalMarkPaid with its API key). And what the brand owed every leader on a day.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { extend, t } from '../i18n.js';
import { dateTime, money } from '../format.js';
import { area, empty } from '../ui.js';
import { ERR, act, confirmAction, downloadCsv, feedback, fetchAll, section, table } from './kit.js';

extend('zh-CN', {
  'console.nav.withdrawals': '提现', 'console.withdrawals.title': '团长提现',
  'console.withdrawals.intro': '审核团长的提现申请：通过后由品牌后台（API 密钥）打款并标记已打款；驳回的金额退回团长的可提现余额。',
  'console.withdrawals.leader': '团长', 'console.withdrawals.amount': '金额', 'console.withdrawals.fee': '手续费',
  'console.withdrawals.payout': '实际到账', 'console.withdrawals.account': '收款账户', 'console.withdrawals.requestedAt': '申请时间',
  'console.withdrawals.status': '状态', 'console.withdrawals.none': '没有这个状态的提现。',
  'console.withdrawals.approve': '通过', 'console.withdrawals.reject': '驳回', 'console.withdrawals.approved': '已通过，等待品牌后台打款。',
  'console.withdrawals.rejectConfirm': '驳回 {name} 的提现 {amount}？金额将退回其可提现余额。', 'console.withdrawals.rejected': '已驳回，金额已退回。',
  'console.withdrawals.owed': '应付团长余额', 'console.withdrawals.owedOn': '截至日期（当日结束）',
  'console.withdrawals.frozen': '冻结中', 'console.withdrawals.available': '可提现', 'console.withdrawals.inWithdrawal': '提现中',
  'console.withdrawals.total': '合计应付', 'console.withdrawals.noneOwed': '这一天没有应付余额。', 'console.withdrawals.csv': '导出 CSV',
  'console.withdrawals.actions': '操作',
  'console.withdrawals.s.REQUESTED': '待审核', 'console.withdrawals.s.APPROVED': '待打款', 'console.withdrawals.s.PAID': '已打款',
  'console.withdrawals.s.REJECTED': '已驳回', 'console.withdrawals.s.FAILED': '打款失败',
  'console.withdrawals.m.BANK': '银行卡', 'console.withdrawals.m.ALIPAY': '支付宝', 'console.withdrawals.m.WECHAT': '微信',
});
extend('en', {
  'console.nav.withdrawals': 'Withdrawals', 'console.withdrawals.title': 'Leader withdrawals',
  'console.withdrawals.intro': "Approve or reject leaders' withdrawal requests: once approved, the brand's back end (API key) pays and marks them paid; a rejected amount returns to the leader's available balance.",
  'console.withdrawals.leader': 'Leader', 'console.withdrawals.amount': 'Amount', 'console.withdrawals.fee': 'Fee',
  'console.withdrawals.payout': 'Payout', 'console.withdrawals.account': 'Account', 'console.withdrawals.requestedAt': 'Requested',
  'console.withdrawals.status': 'Status', 'console.withdrawals.none': 'No withdrawal in this status.',
  'console.withdrawals.approve': 'Approve', 'console.withdrawals.reject': 'Reject', 'console.withdrawals.approved': "Approved: the brand's back end pays it next.",
  'console.withdrawals.rejectConfirm': "Reject {name}'s withdrawal of {amount}? The amount returns to their available balance.", 'console.withdrawals.rejected': 'Rejected: the amount is available again.',
  'console.withdrawals.owed': 'Owed to leaders', 'console.withdrawals.owedOn': 'On (the end of the day)',
  'console.withdrawals.frozen': 'Frozen', 'console.withdrawals.available': 'Available', 'console.withdrawals.inWithdrawal': 'In withdrawal',
  'console.withdrawals.total': 'Owed', 'console.withdrawals.noneOwed': 'Nothing owed on that day.', 'console.withdrawals.csv': 'Export CSV',
  'console.withdrawals.actions': 'Actions',
  'console.withdrawals.s.REQUESTED': 'Requested', 'console.withdrawals.s.APPROVED': 'Approved', 'console.withdrawals.s.PAID': 'Paid',
  'console.withdrawals.s.REJECTED': 'Rejected', 'console.withdrawals.s.FAILED': 'Failed',
  'console.withdrawals.m.BANK': 'Bank card', 'console.withdrawals.m.ALIPAY': 'Alipay', 'console.withdrawals.m.WECHAT': 'WeChat',
});

const M = `amount currency`;
const LIST = `query ConsoleWithdrawals($status: WithdrawalStatus, $after: String) {
  withdrawals(status: $status, first: 100, after: $after) { edges { node { id status requestedAt method accountMasked accountName reason
    amount { ${M} } fee { ${M} } payout { ${M} } leader { id displayName } } } pageInfo { hasNextPage endCursor } }
}`;
const W = `withdrawal { id status } ${ERR}`;
const APPROVE = `mutation ConsoleWithdrawalApprove($id: ID!) { withdrawalApprove(id: $id) { ${W} } }`;
const REJECT = `mutation ConsoleWithdrawalReject($id: ID!, $reason: String!) { withdrawalReject(id: $id, reason: $reason) { ${W} } }`;
const OWED = `query ConsoleLeadersOwed($on: Date!) { leadersOwed(on: $on) { frozen { ${M} } available { ${M} } inWithdrawal { ${M} } owed { ${M} } leader { id displayName } } }`;
const STATUSES = ['REQUESTED', 'APPROVED', 'PAID', 'REJECTED', 'FAILED'];

function actions(w, out, reload) {
  if (w.status !== 'REQUESTED') return w.reason ? h('span', { class: 'muted' }, w.reason) : '';
  const approve = h('button', { type: 'button', class: 'primary approve', onclick: async () => {
    const p = await act(approve, out, async () => (await gql(APPROVE, { id: w.id })).withdrawalApprove, t('console.withdrawals.approved'));
    if (p) setTimeout(reload, 600);
  } }, t('console.withdrawals.approve'));
  const reject = h('button', { type: 'button', class: 'secondary reject', onclick: async () => {
    const reason = await confirmAction(t('console.withdrawals.rejectConfirm', { name: w.leader.displayName, amount: money(w.amount) }),
      t('console.withdrawals.reject'), { reason: true });
    if (!reason) return;
    const p = await act(reject, out, async () => (await gql(REJECT, { id: w.id, reason })).withdrawalReject, t('console.withdrawals.rejected'));
    if (p) setTimeout(reload, 600);
  } }, t('console.withdrawals.reject'));
  return h('div', { class: 'row wrap actions' }, approve, reject);
}

function owedSection() {
  const today = new Date();
  const on = h('input', { type: 'date', id: 'owed-on', value: `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}` });
  const holder = h('div');
  const load = () => fill(holder, area(() => gql(OWED, { on: on.value }), (data) => {
    const rows = data.leadersOwed;
    if (!rows.length) return empty(t('console.withdrawals.noneOwed'));
    const csv = h('button', { type: 'button', class: 'secondary', id: 'owed-csv', onclick: () => downloadCsv(`owed-${on.value}.csv`,
      [t('console.withdrawals.leader'), t('console.withdrawals.frozen'), t('console.withdrawals.available'), t('console.withdrawals.inWithdrawal'), t('console.withdrawals.total'), 'currency'],
      rows.map((r) => [r.leader.displayName, r.frozen.amount, r.available.amount, r.inWithdrawal.amount, r.owed.amount, r.owed.currency])) },
    t('console.withdrawals.csv'));
    return h('div', {}, table([
      ['console.withdrawals.leader', (r) => r.leader.displayName],
      ['console.withdrawals.frozen', (r) => money(r.frozen), { num: true }],
      ['console.withdrawals.available', (r) => money(r.available), { num: true }],
      ['console.withdrawals.inWithdrawal', (r) => money(r.inWithdrawal), { num: true }],
      ['console.withdrawals.total', (r) => money(r.owed), { num: true }],
    ], rows.map((r) => ({ ...r, id: r.leader.id })), { id: 'leaders-owed' }), csv);
  }));
  on.addEventListener('change', load);
  load();
  return section('console.withdrawals.owed', h('div', { class: 'field' }, h('label', { for: 'owed-on' }, t('console.withdrawals.owedOn')), on), holder);
}

export function render({ main, query, navigate }) {
  const status = STATUSES.includes(query.status) ? query.status : 'REQUESTED';
  const filter = h('select', { id: 'withdrawal-status', onchange: (e) => navigate(`#/console/withdrawals?status=${e.target.value}`) },
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, t(`console.withdrawals.s.${s}`))));
  const list = h('div');
  const notice = feedback({ id: 'withdrawals-feedback', class: 'feedback sticky' });
  const load = () => fill(list, area(() => fetchAll(LIST, { status }, (d) => d.withdrawals), (items) => {
    if (!items.length) return empty(t('console.withdrawals.none'));
    return table([
      ['console.withdrawals.leader', (w) => w.leader.displayName],
      ['console.withdrawals.amount', (w) => money(w.amount), { num: true }],
      ['console.withdrawals.fee', (w) => money(w.fee), { num: true }],
      ['console.withdrawals.payout', (w) => money(w.payout), { num: true }],
      ['console.withdrawals.account', (w) => `${t(`console.withdrawals.m.${w.method}`)} ${w.accountMasked} · ${w.accountName}`],
      ['console.withdrawals.requestedAt', (w) => dateTime(w.requestedAt)],
      ['console.withdrawals.status', (w) => h('span', { class: `badge status-${w.status.toLowerCase()}` }, t(`console.withdrawals.s.${w.status}`))],
      ['console.withdrawals.actions', (w) => actions(w, notice, load)],
    ], items, { id: 'withdrawals' });
  }));
  load();
  fill(main, h('h1', {}, t('console.withdrawals.title')),
    h('p', { class: 'lead' }, t('console.withdrawals.intro')),
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'withdrawal-status' }, t('console.withdrawals.status')), filter)),
    notice, list, owedSection());
}
