// Activity: the audit log (who did what, to which object, when), filterable by operation, actor,
// object and time.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { dateTime } from '../format.js';
import { area, edges, empty } from '../ui.js';
import { field, table, whenAvailable } from './kit.js';
import { zonedToIso } from '../format.js';

const LOG = `query ConsoleAuditLog($filter: AuditLogFilter, $after: String) {
  auditLog(filter: $filter, first: 50, after: $after) { edges { node { id at actorKind actorId operation objectId changes requestId } } pageInfo { hasNextPage endCursor } }
}`;

function changes(json) {
  if (!json) return '';
  try {
    const value = JSON.parse(json);
    return Object.entries(value).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ');
  } catch {
    return json;
  }
}

/** "admin", "api_key", ... in the page's language (an unknown kind as the server names it). */
function actorKind(kind) {
  const key = `console.activity.kind.${String(kind).toUpperCase()}`;
  const text = t(key);
  return text === key ? kind : text;
}

export function render({ main, query, navigate }) {
  const form = h('form', { class: 'filters', id: 'activity-form' },
    field('activity-operation', 'console.activity.operation', { value: query.operation || '', placeholder: 'leaderApprove', autocomplete: 'off' }),
    field('activity-actor', 'console.activity.actor', { value: query.actor || '', autocomplete: 'off' }),
    field('activity-object', 'console.activity.object', { value: query.object || '', autocomplete: 'off' }),
    field('activity-since', 'console.activity.since', { type: 'datetime-local', value: query.since || '' }),
    field('activity-until', 'console.activity.until', { type: 'datetime-local', value: query.until || '' }),
    h('div', { class: 'field' }, h('span', { class: 'label-spacer', 'aria-hidden': 'true' }, ' '), h('button', { type: 'submit', class: 'primary' }, t('console.activity.filter'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const keys = { operation: 'activity-operation', actor: 'activity-actor', object: 'activity-object', since: 'activity-since', until: 'activity-until' };
    const qs = new URLSearchParams(Object.entries(keys).map(([k, id]) => [k, form.querySelector(`#${id}`).value.trim()]).filter(([, v]) => v));
    navigate(`#/console/activity${qs.toString() ? `?${qs}` : ''}`);
  });
  const filter = {
    operation: query.operation || null, actorId: query.actor || null, objectId: query.object || null,
    since: query.since ? zonedToIso(query.since) : null, until: query.until ? zonedToIso(query.until) : null,
  };
  const rows = [];
  const list = h('div');
  const page = (after) => area(() => gql(LOG, { filter, after }), (d) => {
    rows.push(...edges(d.auditLog));
    const next = d.auditLog.pageInfo.hasNextPage ? d.auditLog.pageInfo.endCursor : null;
    const view = rows.length ? table([
      ['console.activity.at', (r) => dateTime(r.at)],
      ['console.activity.actor', (r) => h('span', {}, actorKind(r.actorKind), r.actorId ? h('small', { class: 'block mono' }, r.actorId) : null)],
      ['console.activity.operation', (r) => h('span', { class: 'mono operation' }, r.operation)],
      ['console.activity.object', (r) => h('small', { class: 'mono' }, r.objectId || '')],
      ['console.activity.changes', (r) => h('small', {}, changes(r.changes))],
    ], rows, { id: 'activity' }) : empty(t(Object.values(filter).some(Boolean) ? 'console.noMatch' : 'console.activity.none'));
    return h('div', {}, view, next ? h('button', { type: 'button', class: 'secondary', onclick: () => fill(list, page(next)) }, t('common.loadMore')) : null);
  });
  fill(main, h('h1', {}, t('console.activity.title')), whenAvailable(['auditLog'], 'console.nav.activity', () => {
    fill(list, page(null));
    return h('div', {}, form, list);
  }));
  return null;
}
