// Withdrawals: leaders' and sharers' requests approved or rejected (with a reason); paying is the
// brand's back end's (withdrawalMarkPaid / sharerWithdrawalMarkPaid with its API key). And what
// the brand owed every leader on a day.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { extend, t } from '../i18n.js';
import { dateTime, money, zonedDay } from '../format.js';
import { area, empty } from '../ui.js';
import { ERR, act, confirmAction, downloadCsv, feedback, fetchAll, section, table } from './kit.js';

extend('zh-CN', {
  'console.nav.withdrawals': '提现', 'console.withdrawals.title': '提现审核',
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
  'console.withdrawals.sharers': '分享者提现', 'console.withdrawals.sharer': '分享者',
  'console.withdrawals.sharersIntro': '分销员（非团长的分享者）提现分销佣金：规则与团长相同，审核后由品牌后台打款。',
  'console.withdrawals.s.REQUESTED': '待审核', 'console.withdrawals.s.APPROVED': '待打款', 'console.withdrawals.s.PAID': '已打款',
  'console.withdrawals.s.REJECTED': '已驳回', 'console.withdrawals.s.FAILED': '打款失败',
  'console.withdrawals.m.BANK': '银行卡', 'console.withdrawals.m.ALIPAY': '支付宝', 'console.withdrawals.m.WECHAT': '微信',
});
extend('en', {
  'console.nav.withdrawals': 'Withdrawals', 'console.withdrawals.title': 'Withdrawal requests',
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
  'console.withdrawals.sharers': 'Sharer withdrawals', 'console.withdrawals.sharer': 'Sharer',
  'console.withdrawals.sharersIntro': "Sharers (customers who are not leaders) withdraw their referral commission: the leaders' rules; once approved, the brand's back end pays.",
  'console.withdrawals.s.REQUESTED': 'Requested', 'console.withdrawals.s.APPROVED': 'Approved', 'console.withdrawals.s.PAID': 'Paid',
  'console.withdrawals.s.REJECTED': 'Rejected', 'console.withdrawals.s.FAILED': 'Failed',
  'console.withdrawals.m.BANK': 'Bank card', 'console.withdrawals.m.ALIPAY': 'Alipay', 'console.withdrawals.m.WECHAT': 'WeChat',
});

const M = `amount currency`;
const LIST = `query ConsoleWithdrawals($status: WithdrawalStatus, $after: String) {
  withdrawals(status: $status, first: 100, after: $after) { edges { node { id status requestedAt method accountMasked accountName reason
    amount { ${M} } fee { ${M} } payout { ${M} } leader { id displayName } } } pageInfo { hasNextPage endCursor } }
}`;
const SHARER_LIST = `query ConsoleSharerWithdrawals($status: WithdrawalStatus, $after: String) {
  sharerWithdrawals(status: $status, first: 100, after: $after) { edges { node { id status requestedAt method accountMasked accountName reason
    amount { ${M} } fee { ${M} } payout { ${M} } sharer { id displayName } } } pageInfo { hasNextPage endCursor } }
}`;
const W = `withdrawal { id status } ${ERR}`;
const SW = `sharerWithdrawal { id status } ${ERR}`;
// The leaders' steps and the sharers': the same screen, each kind with its own mutations.
const LEADERS = {
  approve: `mutation ConsoleWithdrawalApprove($id: ID!) { withdrawalApprove(id: $id) { ${W} } }`,
  reject: `mutation ConsoleWithdrawalReject($id: ID!, $reason: String!) { withdrawalReject(id: $id, reason: $reason) { ${W} } }`,
  field: 'withdrawal', name: (w) => w.leader.displayName, who: 'console.withdrawals.leader',
};
const SHARERS = {
  approve: `mutation ConsoleSharerWithdrawalApprove($id: ID!) { sharerWithdrawalApprove(id: $id) { ${SW} } }`,
  reject: `mutation ConsoleSharerWithdrawalReject($id: ID!, $reason: String!) { sharerWithdrawalReject(id: $id, reason: $reason) { ${SW} } }`,
  field: 'sharerWithdrawal', name: (w) => w.sharer.displayName, who: 'console.withdrawals.sharer',
};
const OWED = `query ConsoleLeadersOwed($on: Date!) { leadersOwed(on: $on) { frozen { ${M} } available { ${M} } inWithdrawal { ${M} } owed { ${M} } leader { id displayName } } }`;
const STATUSES = ['REQUESTED', 'APPROVED', 'PAID', 'REJECTED', 'FAILED'];

function actions(kind, w, out, reload) {
  if (w.status !== 'REQUESTED') return w.reason ? h('span', { class: 'muted' }, w.reason) : '';
  const run = async (query, vars) => Object.values(await gql(query, vars))[0];
  const approve = h('button', { type: 'button', class: 'primary approve', onclick: async () => {
    const p = await act(approve, out, () => run(kind.approve, { id: w.id }), t('console.withdrawals.approved'));
    if (p) setTimeout(reload, 600);
  } }, t('console.withdrawals.approve'));
  const reject = h('button', { type: 'button', class: 'secondary reject', onclick: async () => {
    const reason = await confirmAction(t('console.withdrawals.rejectConfirm', { name: kind.name(w), amount: money(w.amount) }),
      t('console.withdrawals.reject'), { reason: true });
    if (!reason) return;
    const p = await act(reject, out, () => run(kind.reject, { id: w.id, reason }), t('console.withdrawals.rejected'));
    if (p) setTimeout(reload, 600);
  } }, t('console.withdrawals.reject'));
  return h('div', { class: 'row wrap actions' }, approve, reject);
}

function owedSection() {
  // Today in the tenant's zone, as the owed amounts are (not the browser's).
  const on = h('input', { type: 'date', id: 'owed-on', value: zonedDay() });
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

/** One kind's withdrawals in the chosen status, as a table with the steps an operator takes. */
function listing(kind, query, pick, status, notice, id) {
  const list = h('div');
  const load = () => fill(list, area(() => fetchAll(query, { status }, pick), (items) => {
    if (!items.length) return empty(t('console.withdrawals.none'));
    return table([
      [kind.who, (w) => kind.name(w)],
      ['console.withdrawals.amount', (w) => money(w.amount), { num: true }],
      ['console.withdrawals.fee', (w) => money(w.fee), { num: true }],
      ['console.withdrawals.payout', (w) => money(w.payout), { num: true }],
      ['console.withdrawals.account', (w) => `${t(`console.withdrawals.m.${w.method}`)} ${w.accountMasked} · ${w.accountName}`],
      ['console.withdrawals.requestedAt', (w) => dateTime(w.requestedAt)],
      ['console.withdrawals.status', (w) => h('span', { class: `badge status-${w.status.toLowerCase()}` }, t(`console.withdrawals.s.${w.status}`))],
      ['console.withdrawals.actions', (w) => actions(kind, w, notice, load)],
    ], items, { id });
  }));
  load();
  return list;
}

export function render({ main, query, navigate }) {
  const status = STATUSES.includes(query.status) ? query.status : 'REQUESTED';
  const filter = h('select', { id: 'withdrawal-status', onchange: (e) => navigate(`#/console/withdrawals?status=${e.target.value}`) },
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, t(`console.withdrawals.s.${s}`))));
  const notice = feedback({ id: 'withdrawals-feedback', class: 'feedback sticky' });
  fill(main, h('h1', {}, t('console.withdrawals.title')),
    h('p', { class: 'lead' }, t('console.withdrawals.intro')),
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'withdrawal-status' }, t('console.withdrawals.status')), filter)),
    notice, listing(LEADERS, LIST, (d) => d.withdrawals, status, notice, 'withdrawals'),
    section('console.withdrawals.sharers', h('p', { class: 'muted' }, t('console.withdrawals.sharersIntro')),
      listing(SHARERS, SHARER_LIST, (d) => d.sharerWithdrawals, status, notice, 'sharer-withdrawals')),
    owedSection());
}
