// My money: balances (derived from the ledger), a withdrawal form with its fee shown before sending,
// withdrawal history, the ledger entries of a month and that month's statement.
import { h, fill } from '../dom.js';
import { download, gql } from '../api.js';
import { extend, t } from '../i18n.js';
import { dateTime, money, zonedMonth } from '../format.js';
import { area, edges, empty, message } from '../ui.js';

extend('zh-CN', {
  'money.title': '我的收益',
  'money.pending': '待结算', 'money.frozen': '冻结中', 'money.available': '可提现',
  'money.inWithdrawal': '提现中', 'money.withdrawn': '已提现',
  'money.frozenHint': '已取货的佣金在售后期（冻结期）结束后转为可提现。',
  'money.negative': '可提现余额为负（退款扣回），后续收益将先抵扣，暂不能提现。',
  'money.withdraw': '申请提现', 'money.amount': '金额', 'money.method': '收款方式', 'money.account': '收款账号',
  'money.accountName': '收款人姓名', 'money.fee': '手续费 {fee}，实际到账 {payout}', 'money.minimum': '最低提现 {min}',
  'money.submit': '提交申请', 'money.requested': '提现申请已提交。',
  'money.method.BANK': '银行卡', 'money.method.ALIPAY': '支付宝', 'money.method.WECHAT': '微信',
  'money.history': '提现记录', 'money.noWithdrawals': '还没有提现记录。',
  'money.entries': '收支明细', 'money.month': '月份', 'money.noEntries': '本月没有记录。',
  'money.statement': '月度对账单', 'money.opening': '期初', 'money.closing': '期末', 'money.csv': '下载 CSV',
  'kind.EARNED': '佣金入账（冻结）', 'kind.RELEASED': '解冻可提现', 'kind.REVERSED': '退款冲回', 'kind.CLAWBACK': '退款扣回',
  'kind.WITHDRAWAL': '提现', 'kind.WITHDRAWAL_RETURNED': '提现退回', 'kind.FEE': '提现手续费',
  'kind.WITHDRAWAL_PAID': '提现到账', 'kind.ADJUSTMENT': '人工调整', 'kind.DISTRIBUTION_EARNED': '分销佣金（冻结）',
  'wstatus.REQUESTED': '待审核', 'wstatus.APPROVED': '待打款', 'wstatus.REJECTED': '已驳回', 'wstatus.PAID': '已打款',
  'wstatus.FAILED': '打款失败',
  'money.code.INSUFFICIENT_BALANCE': '超过可提现余额。', 'money.code.CONFLICT': '已有一笔提现在处理中。',
  'money.code.LIMIT_EXCEEDED': '今日提现次数已用完。',
  'money.after': '余额 {balance}', 'money.csvDone': '已下载 {file}。',
});
extend('en', {
  'money.title': 'My money',
  'money.pending': 'Pending', 'money.frozen': 'Frozen', 'money.available': 'Available',
  'money.inWithdrawal': 'In withdrawal', 'money.withdrawn': 'Withdrawn',
  'money.frozenHint': 'Commission on picked-up orders becomes available when the after-sales freeze ends.',
  'money.negative': 'Your available balance is negative (a refund clawed back commission): later earnings recover it first; withdrawals wait until then.',
  'money.withdraw': 'Withdraw', 'money.amount': 'Amount', 'money.method': 'Paid to', 'money.account': 'Account',
  'money.accountName': 'Account holder', 'money.fee': 'Fee {fee}, you receive {payout}', 'money.minimum': 'Minimum {min}',
  'money.submit': 'Request withdrawal', 'money.requested': 'Withdrawal requested.',
  'money.method.BANK': 'Bank card', 'money.method.ALIPAY': 'Alipay', 'money.method.WECHAT': 'WeChat',
  'money.history': 'Withdrawals', 'money.noWithdrawals': 'No withdrawals yet.',
  'money.entries': 'Entries', 'money.month': 'Month', 'money.noEntries': 'Nothing this month.',
  'money.statement': 'Monthly statement', 'money.opening': 'Opening', 'money.closing': 'Closing', 'money.csv': 'Download CSV',
  'kind.EARNED': 'Earned (frozen)', 'kind.RELEASED': 'Now available', 'kind.REVERSED': 'Reversed by a refund',
  'kind.CLAWBACK': 'Clawed back by a refund', 'kind.WITHDRAWAL': 'Withdrawal', 'kind.WITHDRAWAL_RETURNED': 'Withdrawal returned',
  'kind.FEE': 'Withdrawal fee', 'kind.WITHDRAWAL_PAID': 'Withdrawal paid', 'kind.ADJUSTMENT': 'Adjustment',
  'kind.DISTRIBUTION_EARNED': 'Referral commission (frozen)',
  'wstatus.REQUESTED': 'Requested', 'wstatus.APPROVED': 'Approved', 'wstatus.REJECTED': 'Rejected', 'wstatus.PAID': 'Paid',
  'wstatus.FAILED': 'Failed',
  'money.code.INSUFFICIENT_BALANCE': 'More than your available balance.', 'money.code.CONFLICT': 'A withdrawal is already in progress.',
  'money.code.LIMIT_EXCEEDED': 'No more withdrawals today.',
  'money.after': 'Balance {balance}', 'money.csvDone': 'Downloaded {file}.',
});

const M = 'amount currency';
const BALANCE = `query MyBalance { leaderBalance { pending { ${M} } frozen { ${M} } available { ${M} } inWithdrawal { ${M} } withdrawn { ${M} } } }`;
const QUOTE = `query Quote($a: Decimal!) { withdrawalQuote(amount: $a) { fee { ${M} } payout { ${M} } minimum { ${M} } } }`;
const REQUEST = `mutation Withdraw($i: WithdrawalRequestInput!) { withdrawalRequest(input: $i) { errors { code field message } withdrawal { id status } } }`;
const HISTORY = `query MyWithdrawals { withdrawals(first: 50) { edges { node { id status requestedAt amount { ${M} } fee { ${M} } payout { ${M} } method accountMasked reason } } } }`;
// The month's lines a page at a time (a busy leader has thousands), each with what was owed after it.
const STATEMENT = `query MyStatement($m: String!, $after: String) { leaderStatement(month: $m) { opening { ${M} } closing { ${M} } csvUrl
  linesConnection(first: 50, after: $after) { edges { node { balance { ${M} } entry { id kind at amount { ${M} } reason order { number } } } }
    pageInfo { hasNextPage endCursor } } } }`;
const CARDS = [['available', 'money.available'], ['frozen', 'money.frozen'], ['pending', 'money.pending'],
  ['inWithdrawal', 'money.inWithdrawal'], ['withdrawn', 'money.withdrawn']];

function balanceCards(b) {
  const negative = b.available.amount.startsWith('-');
  return h('div', {},
    h('dl', { class: 'balance-cards' }, CARDS.map(([key, label]) => h('div', { class: `card balance balance-${key}` },
      h('dt', {}, t(label)), h('dd', { dataset: { key } }, money(b[key]))))),
    h('p', { class: 'muted' }, t('money.frozenHint')),
    negative ? message('warning', t('money.negative')) : null);
}

// The server's words (in this page's language) where they say more than the code: an INVALID
// amount names the minimum; a code without words here is shown as the server put it.
function errorText(e) {
  const key = `money.code.${e.code}`;
  const own = t(key);
  return e.code === 'INVALID' || own === key ? e.message : own;
}

function withdrawalForm(onDone) {
  const amount = h('input', { id: 'w-amount', name: 'amount', inputmode: 'decimal', required: true, autocomplete: 'off' });
  const method = h('select', { id: 'w-method', name: 'method' },
    ['ALIPAY', 'WECHAT', 'BANK'].map((m) => h('option', { value: m }, t(`money.method.${m}`))));
  const account = h('input', { id: 'w-account', name: 'account', required: true, autocomplete: 'off' });
  const holder = h('input', { id: 'w-name', name: 'accountName', required: true, autocomplete: 'name' });
  const quote = h('p', { class: 'fee-preview', 'aria-live': 'polite' });
  const result = h('div', {});
  let timer = null;
  amount.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const value = amount.value.trim();
      if (!/^\d+(\.\d{1,2})?$/.test(value) || Number(value) <= 0) { fill(quote); return; }
      try {
        const q = (await gql(QUOTE, { a: value })).withdrawalQuote;
        fill(quote, t('money.fee', { fee: money(q.fee), payout: money(q.payout) }), ' · ', t('money.minimum', { min: money(q.minimum) }));
      } catch (e) { fill(quote); }
    }, 250);
  });
  const form = h('form', { class: 'withdraw-form', novalidate: true },
    h('label', { for: 'w-amount' }, t('money.amount')), amount, quote,
    h('label', { for: 'w-method' }, t('money.method')), method,
    h('label', { for: 'w-account' }, t('money.account')), account,
    h('label', { for: 'w-name' }, t('money.accountName')), holder,
    h('button', { type: 'submit', class: 'primary' }, t('money.submit')), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = { amount: amount.value.trim(), method: method.value, account: account.value.trim(), accountName: holder.value.trim() };
    try {
      const payload = (await gql(REQUEST, { i: input })).withdrawalRequest;
      if (payload.errors.length) {
        fill(result, message('error', payload.errors.map(errorText).join(' ')));
        return;
      }
      fill(result, message('success', t('money.requested')));
      onDone();
    } catch (e) {
      fill(result, message('error', String(e.message || e)));
    }
  });
  return form;
}

function history() {
  return area(() => gql(HISTORY), (data) => {
    const items = edges(data.withdrawals);
    if (!items.length) return empty(t('money.noWithdrawals'));
    return h('ul', { class: 'cards withdrawals' }, items.map((w) => h('li', { class: 'card', dataset: { status: w.status } },
      h('div', { class: 'row between' }, h('strong', {}, money(w.amount)), h('span', { class: `badge status-${w.status.toLowerCase()}` }, t(`wstatus.${w.status}`))),
      h('p', { class: 'muted' }, `${dateTime(w.requestedAt)} · ${t(`money.method.${w.method}`)} ${w.accountMasked}`),
      h('p', {}, t('money.fee', { fee: money(w.fee), payout: money(w.payout) })),
      w.reason ? h('p', { class: 'muted' }, w.reason) : null)));
  });
}

function monthSection() {
  const picker = h('input', { type: 'month', id: 'money-month', value: zonedMonth() });
  const holder = h('div', {});
  const load = () => {
    const m = picker.value || zonedMonth();
    // The statement, oldest line first: opening, each entry with what was owed after it, closing.
    fill(holder, area(() => gql(STATEMENT, { m }), (st) => {
      const s = st.leaderStatement;
      const status = h('p', { class: 'csv-status', 'aria-live': 'polite' });
      const csv = async () => {
        const file = `statement-${m}.csv`;
        try {
          await download(s.csvUrl, file);
          fill(status, message('success', t('money.csvDone', { file })));
        } catch (e) {
          fill(status, message('error', String(e.message || e)));
        }
      };
      const items = edges(s.linesConnection);
      const row = ({ entry: e, balance }) => h('tr', { dataset: { kind: e.kind } },
        h('td', {}, dateTime(e.at)),
        h('td', {}, t(`kind.${e.kind}`), e.order ? h('small', {}, ` #${e.order.number}`) : null),
        h('td', { class: `num${e.amount.amount.startsWith('-') ? ' negative' : ''}` }, money(e.amount),
          h('small', { class: 'after' }, t('money.after', { balance: money(balance) }))));
      const body = h('tbody', {}, items.map(row));
      // A busy leader has thousands of lines a month (each order earns, then is released): load more.
      let cursor = s.linesConnection.pageInfo;
      const more = h('button', { type: 'button', class: 'secondary', id: 'entries-more', onclick: async () => {
        more.disabled = true;
        try {
          const next = (await gql(STATEMENT, { m, after: cursor.endCursor })).leaderStatement.linesConnection;
          body.append(...edges(next).map(row));
          cursor = next.pageInfo;
          if (!cursor.hasNextPage) more.remove();
        } catch (e) {
          fill(status, message('error', String(e.message || e)));
        } finally {
          more.disabled = false;
        }
      } }, t('common.loadMore'));
      return h('div', {},
        h('dl', { class: 'sums statement' },
          h('div', {}, h('dt', {}, t('money.opening')), h('dd', {}, money(s.opening))),
          h('div', {}, h('dt', {}, t('money.closing')), h('dd', { dataset: { key: 'closing' } }, money(s.closing)))),
        h('button', { type: 'button', class: 'secondary', id: 'statement-csv', onclick: csv }, t('money.csv')), status,
        items.length ? h('table', { class: 'compact entries' }, body) : empty(t('money.noEntries')),
        cursor.hasNextPage ? more : null);
    }));
  };
  picker.addEventListener('change', load);
  load();
  return h('section', { class: 'month' },
    h('h2', {}, t('money.statement')),
    h('label', { for: 'money-month' }, t('money.month')), picker, holder);
}

export function render({ main }) {
  const balanceHolder = h('div', {});
  const historyHolder = h('div', {});
  const refresh = () => {
    fill(balanceHolder, area(() => gql(BALANCE), (data) => balanceCards(data.leaderBalance)));
    fill(historyHolder, history());
  };
  refresh();
  fill(main, h('h1', {}, t('money.title')), balanceHolder,
    h('section', {}, h('h2', {}, t('money.withdraw')), withdrawalForm(refresh)),
    h('section', {}, h('h2', {}, t('money.history')), historyHolder),
    monthSection());
}
