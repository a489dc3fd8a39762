// Leaders: applications (approve with a rate, or reject), the list by status, suspend and reinstate,
// and each leader's pickup points, groups and commissions.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { fromMinor, money, toMinor } from '../format.js';
import { area, empty } from '../ui.js';
import { ERR, act, confirmAction, feedback, fetchAll, has } from './kit.js';

const LEADERS = `query ConsoleLeaders($status: LeaderStatus, $after: String) {
  leaders(status: $status, first: 100, after: $after) { edges { node { id displayName phone status statusReason commissionRate
    pickupPoints { id name address active } communityGroups { id name memberCount } } } pageInfo { hasNextPage endCursor } }
}`;
const COMMISSIONS = `query ConsoleLeaderCommissions($leaderId: ID!, $after: String) {
  commissions(leaderId: $leaderId, first: 100, after: $after) { edges { node { id status amount { amount currency } } } pageInfo { hasNextPage endCursor } }
}`;
const L = `leader { id status statusReason commissionRate } ${ERR}`;
const APPROVE = `mutation ConsoleLeaderApprove($id: ID!, $rate: Decimal) { leaderApprove(id: $id, commissionRate: $rate) { ${L} } }`;
const REJECT = `mutation ConsoleLeaderReject($id: ID!, $reason: String!) { leaderReject(id: $id, reason: $reason) { ${L} } }`;
const SUSPEND = `mutation ConsoleLeaderSuspend($id: ID!, $reason: String!) { leaderSuspend(id: $id, reason: $reason) { ${L} } }`;
const REINSTATE = `mutation ConsoleLeaderReinstate($id: ID!) { leaderReinstate(id: $id) { ${L} } }`;
const STATUSES = ['PENDING', 'APPROVED', 'SUSPENDED', 'REJECTED'];

function commissionSums(leaderId) {
  return area(() => fetchAll(COMMISSIONS, { leaderId }, (d) => d.commissions), (items) => {
    if (!items.length) return empty(t('console.leaders.noCommissions'));
    const currency = items[0].amount.currency;
    const sums = { PENDING: 0n, EARNED: 0n, REVERSED: 0n };
    for (const c of items) sums[c.status] = (sums[c.status] || 0n) + toMinor(c.amount.amount);
    return h('dl', { class: 'sums' }, Object.entries(sums).map(([s, v]) => h('div', { class: `sum sum-${s.toLowerCase()}` },
      h('dt', {}, t(`status.${s}`)), h('dd', {}, money(fromMinor(v, currency))))));
  });
}

function leaderCard(l, reload, canReinstate, out) {
  const actions = [];
  if (l.status === 'PENDING') {
    const rate = h('input', { id: `rate-${l.id}`, class: 'rate', inputmode: 'decimal', placeholder: l.commissionRate, value: l.commissionRate, 'aria-label': t('console.leaders.rate') });
    const approve = h('button', { type: 'button', class: 'primary approve', onclick: async () => {
      const r = rate.value.trim();
      const p = await act(approve, out, async () => (await gql(APPROVE, { id: l.id, rate: r || null })).leaderApprove, t('console.leaders.approved'));
      if (p) setTimeout(reload, 600);
    } }, t('console.leaders.approve'));
    const reject = h('button', { type: 'button', class: 'secondary reject', onclick: async () => {
      const reason = await confirmAction(t('console.leaders.rejectConfirm', { name: l.displayName }), t('console.leaders.reject'), { reason: true });
      if (!reason) return;
      const p = await act(reject, out, async () => (await gql(REJECT, { id: l.id, reason })).leaderReject, t('console.leaders.rejected'));
      if (p) setTimeout(reload, 600);
    } }, t('console.leaders.reject'));
    actions.push(h('label', { for: `rate-${l.id}` }, t('console.leaders.rate')), rate, approve, reject);
  } else if (l.status === 'APPROVED') {
    const suspend = h('button', { type: 'button', class: 'danger suspend', onclick: async () => {
      const reason = await confirmAction(t('console.leaders.suspendConfirm', { name: l.displayName }), t('console.leaders.suspend'), { reason: true });
      if (!reason) return;
      const p = await act(suspend, out, async () => (await gql(SUSPEND, { id: l.id, reason })).leaderSuspend, t('console.leaders.suspended'));
      if (p) setTimeout(reload, 600);
    } }, t('console.leaders.suspend'));
    actions.push(suspend);
  } else if (l.status === 'SUSPENDED') {
    if (canReinstate) {
      const reinstate = h('button', { type: 'button', class: 'primary reinstate', onclick: async () => {
        if (!await confirmAction(t('console.leaders.reinstateConfirm', { name: l.displayName }), t('console.leaders.reinstate'))) return;
        const p = await act(reinstate, out, async () => (await gql(REINSTATE, { id: l.id })).leaderReinstate, t('console.leaders.reinstated'));
        if (p) setTimeout(reload, 600);
      } }, t('console.leaders.reinstate'));
      actions.push(reinstate);
    } else {
      actions.push(h('span', { class: 'muted' }, t('console.leaders.reinstateUnavailable')));
    }
  }
  return h('li', { class: 'card leader', dataset: { id: l.id, status: l.status } },
    h('div', { class: 'row between wrap' }, h('h3', {}, l.displayName),
      h('span', { class: `badge status-leader-${l.status.toLowerCase()}` }, t(`status.leader.${l.status}`))),
    h('p', { class: 'muted' }, [l.phone, t('console.leaders.rateIs', { rate: `${(Number(l.commissionRate) * 100).toFixed(1)}%` })].filter(Boolean).join(' · ')),
    l.statusReason ? h('p', { class: 'muted' }, t('console.leaders.reason', { reason: l.statusReason })) : null,
    actions.length ? h('div', { class: 'row wrap actions' }, actions) : null,
    l.status === 'PENDING' ? null : h('details', {},
      h('summary', {}, t('console.leaders.details', { points: l.pickupPoints.length, groups: l.communityGroups.length })),
      h('h4', {}, t('console.leaders.points')),
      l.pickupPoints.length ? h('ul', {}, l.pickupPoints.map((p) => h('li', {}, `${p.name} · ${p.address}`, p.active ? '' : ` (${t('console.inactive')})`))) : empty(t('console.leaders.noPoints')),
      h('h4', {}, t('console.leaders.groups')),
      l.communityGroups.length ? h('ul', {}, l.communityGroups.map((g) => h('li', {}, `${g.name} · ${t('groups.members', { n: g.memberCount })}`))) : empty(t('console.leaders.noGroups')),
      h('h4', {}, t('console.leaders.commissions')),
      commissionSums(l.id)));
}

export function render({ main, query, navigate }) {
  const status = STATUSES.includes(query.status) ? query.status : '';
  const filter = h('select', { id: 'leader-status', onchange: (e) => navigate(`#/console/leaders${e.target.value ? `?status=${e.target.value}` : ''}`) },
    h('option', { value: '' }, t('common.all')),
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, t(`status.leader.${s}`))));
  const list = h('div');
  const notice = feedback({ id: 'leaders-feedback', class: 'feedback sticky' });
  const load = () => fill(list, area(async () => [await fetchAll(LEADERS, { status: status || null }, (d) => d.leaders), await has('leaderReinstate')], ([items, canReinstate]) => {
    if (!items.length) return empty(t(status === 'PENDING' ? 'console.leaders.noApplications' : 'console.leaders.none'));
    const order = (l) => STATUSES.indexOf(l.status);
    items.sort((a, b) => order(a) - order(b));
    return h('ul', { class: 'cards leaders', id: 'leaders' }, items.map((l) => leaderCard(l, load, canReinstate, notice)));
  }));
  load();
  fill(main, h('h1', {}, t('console.leaders.title')),
    h('p', { class: 'lead' }, t('console.leaders.intro')),
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'leader-status' }, t('orders.status')), filter)),
    notice, list);
}
