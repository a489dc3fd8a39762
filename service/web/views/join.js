// Where a group's invite link lands: shows the code for the brand's app; a signed-in customer can join here.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { session } from '../session.js';
import { t } from '../i18n.js';
import { explain, message, userErrorText } from '../ui.js';

const JOIN = `mutation CommunityGroupJoin($inviteCode: String!) {
  communityGroupJoin(inviteCode: $inviteCode) { communityGroup { id name } errors { code field message } }
}`;

export function render({ main, params, me }) {
  const code = params[0] || '';
  const status = h('div', { 'aria-live': 'polite' });
  const canJoin = me && session.token && me.roles.includes('CUSTOMER');
  fill(main,
    h('h1', {}, t('join.title')),
    h('p', {}, t('join.body')),
    h('p', { class: 'big-code mono' }, code),
    canJoin ? h('button', { type: 'button', class: 'primary', onclick: async (e) => {
      e.target.disabled = true;
      try {
        const { communityGroupJoin: p } = await gql(JOIN, { inviteCode: code });
        fill(status, p.errors.length ? message('error', userErrorText(p.errors)) : message('success', t('join.done', { name: p.communityGroup.name })));
      } catch (err) {
        fill(status, message('error', explain(err)));
      } finally {
        e.target.disabled = false;
      }
    } }, t('join.submit')) : null,
    status);
}
