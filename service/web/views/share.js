// Share: a leader's share link and poster (PNG) for each open batch, to post in the estate's chat group.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t, extend } from '../i18n.js';
import { dateTime } from '../format.js';
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
});

const OPEN_BATCHES = `query ShareOpenBatches {
  batches(status: [OPEN], first: 50) { edges { node { id title closesAt } } }
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

export function render({ main }) {
  fill(main, h('h1', {}, t('share.title')), h('p', { class: 'muted' }, t('share.intro')),
    area(() => gql(OPEN_BATCHES), (data) => {
      const batches = edges(data.batches);
      if (!batches.length) return empty(t('share.none'));
      return h('ul', { class: 'cards' }, batches.map((b) => h('li', { class: 'card', dataset: { batch: b.id } },
        h('h2', {}, b.title),
        h('p', { class: 'muted' }, t('share.cutoff', { time: dateTime(b.closesAt) })),
        ...posterBox(b))));
    }));
}
