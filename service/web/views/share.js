// Share: a leader's share link and poster (PNG) for each open batch, to post in the estate's chat group,
// and the neighbours bound to them through it (names masked) with what their orders brought.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t, extend } from '../i18n.js';
import { dateTime, money } from '../format.js';
import { area, edges, empty } from '../ui.js';

extend('zh-CN', {
  'nav.share': '分享',
  'share.title': '分享海报',
  'share.intro': '生成本期团购的分享链接和海报，发到小区群里。通过链接下单的邻居会绑定到您。',
  'share.make': '生成海报',
  'share.none': '现在没有进行中的团购。',
  'share.link': '分享链接',
  'share.copy': '复制链接',
  'share.copied': '已复制。',
  'share.posterAlt': '{title} 的分享海报',
  'share.cutoff': '截单 {time}',
  'share.referrals': '我推荐的邻居',
  'share.noReferrals': '还没有邻居通过您的链接绑定。',
  'share.level1': '直接推荐',
  'share.level2': '间接推荐',
  'share.referral': '{orders} 单 · 商品 {gmv} · 分销佣金 {commission}',
  'share.earnings': '分销佣金：待确认 {pending} · 已入账 {earned}',
});
extend('en', {
  'nav.share': 'Share',
  'share.title': 'Share posters',
  'share.intro': "Make this batch's share link and poster for the estate's chat group. Neighbours who order through it are bound to you.",
  'share.make': 'Make the poster',
  'share.none': 'No batch is open now.',
  'share.link': 'Share link',
  'share.copy': 'Copy the link',
  'share.copied': 'Copied.',
  'share.posterAlt': 'Share poster of {title}',
  'share.cutoff': 'Cutoff {time}',
  'share.referrals': 'Neighbours you referred',
  'share.noReferrals': 'No neighbour is bound to you through your links yet.',
  'share.level1': 'Referred by you',
  'share.level2': 'Referred by your referral',
  'share.referral': '{orders} orders · goods {gmv} · referral commission {commission}',
  'share.earnings': 'Referral commission: pending {pending} · earned {earned}',
});

const OPEN_BATCHES = `query ShareOpenBatches {
  batches(status: [OPEN], first: 50) { edges { node { id title closesAt } } }
}`;
const REFERRALS = `query ShareReferrals {
  myReferrals(first: 100) { edges { node { id customerName level boundAt orders gmv { amount currency } commission { amount currency } } } }
  myDistributionEarnings { pending { amount currency } earned { amount currency } }
}`;
const SHARE = `mutation ShareLinkCreate($id: ID!) {
  shareLinkCreate(target: BATCH, targetId: $id) { share { code url } posterUrl errors { code field message } }
}`;

function posterBox(batch) {
  const box = h('div', { class: 'share-result', 'aria-live': 'polite' });
  const make = async (event) => {
    event.target.disabled = true;
    try {
      const { shareLinkCreate: p } = await gql(SHARE, { id: batch.id });
      if (p.errors.length) { fill(box, h('p', { class: 'error' }, p.errors.map((e) => e.message).join(' '))); return; }
      const status = h('span', { class: 'muted', role: 'status' });
      fill(box,
        h('img', { src: p.posterUrl, alt: t('share.posterAlt', { title: batch.title }), class: 'poster', width: 375, height: 590 }),
        h('p', {}, h('label', { for: `link-${batch.id}` }, t('share.link'))),
        h('input', { id: `link-${batch.id}`, class: 'share-link', readonly: true, value: p.share.url }),
        h('p', {}, h('button', { type: 'button', onclick: async () => {
          try { await navigator.clipboard.writeText(p.share.url); fill(status, t('share.copied')); } catch (e) { /* no clipboard: the field is selectable */ }
        } }, t('share.copy')), ' ', status));
    } finally {
      event.target.disabled = false;
    }
  };
  return [h('button', { type: 'button', class: 'primary', dataset: { share: batch.id }, onclick: make }, t('share.make')), box];
}

function referrals(data) {
  const people = edges(data.myReferrals);
  const earned = data.myDistributionEarnings;
  return [
    h('p', { class: 'muted', id: 'referral-earnings' }, t('share.earnings', { pending: money(earned.pending), earned: money(earned.earned) })),
    people.length
      ? h('ul', { class: 'cards', id: 'referrals' }, people.map((r) => h('li', { class: 'card', dataset: { referral: r.id } },
        h('h3', {}, r.customerName, ' ', h('span', { class: 'muted' }, t(r.level === 1 ? 'share.level1' : 'share.level2'))),
        h('p', { class: 'muted' }, dateTime(r.boundAt)),
        h('p', {}, t('share.referral', { orders: r.orders, gmv: money(r.gmv), commission: money(r.commission) })))))
      : empty(t('share.noReferrals')),
  ];
}

export function render({ main }) {
  fill(main, h('h1', {}, t('share.title')), h('p', { class: 'muted' }, t('share.intro')),
    area(() => gql(OPEN_BATCHES), (data) => {
      const batches = edges(data.batches);
      if (!batches.length) return empty(t('share.none'));
      return h('ul', { class: 'cards' }, batches.map((b) => h('li', { class: 'card', dataset: { batch: b.id } },
        h('h2', {}, b.title),
        h('p', { class: 'muted' }, t('share.cutoff', { time: dateTime(b.closesAt) })),
        ...posterBox(b))));
    }),
    h('h2', {}, t('share.referrals')),
    area(() => gql(REFERRALS), referrals));
}
