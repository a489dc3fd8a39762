// My community groups: members, invite code, an invite link and its QR code (drawn here, no network).
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { session } from '../session.js';
import { t } from '../i18n.js';
import { area, empty, explain, message, userErrorText } from '../ui.js';
import qrcode from '../vendor/qrcode.js';

const MY_GROUPS = `query MyCommunityGroups { me { leader { id communityGroups { id name inviteCode memberCount } } } }`;
const CREATE = `mutation CommunityGroupCreate($input: CommunityGroupInput!) {
  communityGroupCreate(input: $input) { communityGroup { id name inviteCode memberCount } errors { code field message } }
}`;

export function inviteLink(inviteCode, slug = session.slug) {
  return `${location.origin}/app/#/join/${encodeURIComponent(inviteCode)}?tenant=${encodeURIComponent(slug || '')}`;
}

/** An <svg> QR code of `text`, built by the vendored encoder (type 0 = smallest that fits, level M). */
export function qrSvg(text, label) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const holder = h('div', { class: 'qr', role: 'img', 'aria-label': label });
  // The encoder's own markup: only its SVG of black modules, no data from the API inside.
  holder.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  return holder;
}

export function render({ main }) {
  const list = h('div', {});
  const load = () => fill(list, area(() => gql(MY_GROUPS), (data) => {
    const leader = data.me.leader;
    if (!leader) return empty(t('groups.noLeader'));
    if (!leader.communityGroups.length) return empty(t('groups.none'));
    return h('ul', { class: 'cards groups' }, leader.communityGroups.map(groupCard));
  }));

  const name = h('input', { id: 'group-name', required: true, maxlength: '100', autocomplete: 'off' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card row wrap end', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (!name.value.trim()) { fill(status, message('error', t('signin.missing'))); name.focus(); return; }
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const { communityGroupCreate: p } = await gql(CREATE, { input: { name: name.value.trim() } });
      if (p.errors.length) { fill(status, message('error', userErrorText(p.errors))); return; }
      name.value = '';
      fill(status, message('success', t('groups.created')));
      load();
    } catch (err) {
      fill(status, message('error', explain(err)));
    } finally {
      button.disabled = false;
    }
  } },
  h('div', { class: 'field grow' }, h('label', { for: 'group-name' }, t('groups.name')), name),
  h('button', { type: 'submit', class: 'secondary' }, t('groups.createSubmit')));

  fill(main, h('h1', {}, t('groups.title')), list,
    h('section', { 'aria-labelledby': 'new-group' }, h('h2', { id: 'new-group' }, t('groups.create')), form, status));
  load();
}

function groupCard(g) {
  const link = inviteLink(g.inviteCode);
  const copied = h('span', { class: 'muted', 'aria-live': 'polite' });
  const linkId = `invite-${g.inviteCode}`;
  return h('li', { class: 'card group' },
    h('div', { class: 'row between' }, h('h3', {}, g.name), h('span', { class: 'muted' }, t('groups.members', { n: g.memberCount }))),
    h('p', {}, `${t('groups.inviteCode')}: `, h('strong', { class: 'mono invite-code' }, g.inviteCode)),
    h('div', { class: 'field' },
      h('label', { for: linkId }, t('groups.invite')),
      h('input', { id: linkId, class: 'invite-link', readonly: true, value: link, onfocus: (e) => e.target.select() })),
    h('div', { class: 'row wrap' },
      h('button', { type: 'button', class: 'secondary small', onclick: async () => {
        try { await navigator.clipboard.writeText(link); copied.textContent = t('groups.copied'); } catch { document.getElementById(linkId).select(); }
      } }, t('groups.copy')), copied),
    qrSvg(link, t('groups.qrAlt')));
}
