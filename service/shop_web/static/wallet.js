// The sharer's money on the Share screen (#/share): the balance from their ledger, a withdrawal
// request with its fee shown before it is sent (the tenant's rules, as a leader's), and the
// withdrawals so far. A leader withdraws in the leader client; the API tells them so.
import { gql } from './api.js';
import { t, money, when } from './i18n.js';
import { h, fill, note } from './dom.js';

const M = 'amount currency';
const MINE = `query ShopWallet {
  myBalance { frozen { ${M} } available { ${M} } inWithdrawal { ${M} } withdrawn { ${M} } }
  sharerWithdrawals(first: 20) { edges { node { id status requestedAt method accountMasked reason
    amount { ${M} } fee { ${M} } payout { ${M} } } } }
}`;
const QUOTE = `query ShopWithdrawalQuote($amount: Decimal!) { withdrawalQuote(amount: $amount) {
  fee { ${M} } payout { ${M} } minimum { ${M} } dailyLimit } }`;
const REQUEST = `mutation ShopSharerWithdraw($i: WithdrawalRequestInput!) { sharerWithdrawalRequest(input: $i) {
  sharerWithdrawal { id status } errors { code field message } } }`;
const METHODS = ['WECHAT', 'ALIPAY', 'BANK'];
const AMOUNT = /^\d+(\.\d{1,2})?$/;

function field(id, label, control) {
  return h('label', { for: id }, label, control);
}

function history(items, timezone) {
  if (!items.length) return note('info', t('wallet.none'));
  return h('ul', { class: 'cards', id: 'sharer-withdrawals' }, items.map((w) => h('li', { class: 'card', 'data-id': w.id },
    h('p', { class: 'offer' }, h('strong', {}, money(w.amount)),
      h('span', { class: `badge ${w.status}` }, t(`wallet.s.${w.status}`))),
    h('p', { class: 'muted' }, t('wallet.line', { fee: money(w.fee), payout: money(w.payout) })),
    h('p', { class: 'muted' }, `${t(`wallet.m.${w.method}`)} ${w.accountMasked} · ${when(w.requestedAt, timezone)}`),
    w.reason ? h('p', { class: 'muted' }, t('wallet.reason', { reason: w.reason })) : null)));
}

function form(balance, reload) {
  const amount = h('input', { id: 'withdraw-amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '0.00' });
  const method = h('select', { id: 'withdraw-method' }, METHODS.map((m) => h('option', { value: m }, t(`wallet.m.${m}`))));
  const account = h('input', { id: 'withdraw-account', autocomplete: 'off', maxlength: 64 });
  const name = h('input', { id: 'withdraw-name', autocomplete: 'name', maxlength: 100 });
  const quote = h('p', { class: 'muted', id: 'withdraw-quote', 'aria-live': 'polite' });
  const out = h('div', { 'aria-live': 'polite' });
  let asked = 0;
  const showQuote = async () => {
    const value = amount.value.trim();
    const mine = ++asked;
    if (!AMOUNT.test(value) || Number(value) <= 0) return fill(quote, '');
    try {
      const { withdrawalQuote: q } = await gql(QUOTE, { amount: value });
      if (mine === asked) fill(quote, t('wallet.quote', { fee: money(q.fee), payout: money(q.payout), minimum: money(q.minimum) }));
    } catch (err) {
      if (mine === asked) fill(quote, '');
    }
  };
  amount.addEventListener('input', showQuote);
  const submit = h('button', { type: 'submit', class: 'primary', id: 'withdraw-submit' }, t('wallet.submit'));
  const send = async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const { sharerWithdrawalRequest: r } = await gql(REQUEST, { i: {
        amount: amount.value.trim(), method: method.value, account: account.value.trim(), accountName: name.value.trim() } });
      // The API's messages are in the customer's language (Accept-Language).
      if (r.errors.length) return fill(out, note('error', r.errors.map((e) => e.message).join(' ')));
      fill(out, note('success', t('wallet.sent')));
      setTimeout(reload, 800);
    } catch (err) {
      fill(out, note('error', t('error.network')));
    } finally {
      submit.disabled = false;
    }
  };
  return h('form', { class: 'card', id: 'withdraw-form', onsubmit: send },
    h('h3', {}, t('wallet.request')),
    h('p', { class: 'muted' }, t('wallet.available', { amount: money(balance.available) })),
    field('withdraw-amount', t('wallet.amount'), amount), quote,
    field('withdraw-method', t('wallet.method'), method),
    field('withdraw-account', t('wallet.account'), account),
    field('withdraw-name', t('wallet.name'), name),
    submit, out);
}

/** The section, reloading itself after a request. */
export function walletSection(timezone) {
  const holder = h('section', { id: 'wallet', 'aria-labelledby': 'wallet-title' });
  const load = async () => {
    fill(holder, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const data = await gql(MINE);
      const b = data.myBalance;
      const items = data.sharerWithdrawals.edges.map((e) => e.node);
      const card = (key, m) => h('div', { class: 'card stat' }, h('span', { class: 'muted' }, t(key)), h('strong', {}, money(m)));
      fill(holder, h('h2', { id: 'wallet-title' }, t('wallet.title')),
        h('div', { class: 'stats', id: 'wallet-balance' }, card('wallet.availableLabel', b.available), card('wallet.frozen', b.frozen),
          card('wallet.inWithdrawal', b.inWithdrawal), card('wallet.withdrawn', b.withdrawn)),
        form(b, load),
        h('h3', {}, t('wallet.history')), history(items, timezone));
    } catch (err) {
      fill(holder, note('error', t('error.network')));
    }
  };
  load();
  return holder;
}
