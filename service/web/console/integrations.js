// Integrations: API keys (create, shown once; list; revoke), webhook subscriptions with their delivery
// log, and the e-mail delivery log.
import { h, fill } from '../dom.js';
import { gql } from '../api.js';
import { t } from '../i18n.js';
import { dateTime } from '../format.js';
import { area, empty } from '../ui.js';
import { ERR, act, confirmAction, feedback, fetchAll, field, has, section, table, val } from './kit.js';

const KEYS = `query ConsoleApiKeys($after: String) { apiKeys(first: 100, after: $after) { edges { node { id name createdAt lastUsedAt revokedAt } } pageInfo { hasNextPage endCursor } } }`;
const KEY_CREATE = `mutation ConsoleApiKeyCreate($name: String!) { apiKeyCreate(name: $name) { apiKey ${ERR} } }`;
const KEY_REVOKE = `mutation ConsoleApiKeyRevoke($id: ID!) { apiKeyRevoke(id: $id) { apiKey { id revokedAt } ${ERR} } }`;
const HOOKS = `query ConsoleWebhooks { webhookSubscriptions { id url events active createdAt
  deliveries(first: 20) { id event status attempts lastStatusCode lastError lastAttemptAt nextAttemptAt deliveredAt createdAt } } }`;
const HOOK_CREATE = `mutation ConsoleWebhookCreate($i: WebhookSubscriptionInput!) { webhookSubscriptionCreate(input: $i) { webhookSubscription { id } secret ${ERR} } }`;
const HOOK_UPDATE = `mutation ConsoleWebhookUpdate($id: ID!, $i: WebhookSubscriptionUpdateInput!) { webhookSubscriptionUpdate(id: $id, input: $i) { webhookSubscription { id active } ${ERR} } }`;
const RETRY = `mutation ConsoleWebhookRetry($id: ID!) { webhookDeliveryRetry(id: $id) { ${ERR} } }`;
const EMAILS = `query ConsoleEmails { emailDeliveries(first: 50) { id event to status attempts lastError lastAttemptAt deliveredAt createdAt } }`;
const EVENTS = ['ORDER_PLACED', 'ORDER_PAID', 'ORDER_CANCELLED', 'ORDER_READY_FOR_PICKUP', 'ORDER_PICKED_UP', 'BATCH_OPENED', 'BATCH_CLOSED', 'BATCH_CANCELLED', 'PURCHASE_ORDER_CREATED', 'PICK_LIST_READY', 'REFUND_CREATED'];

function deliveryStatus(s) { return h('span', { class: `badge status-${s.toLowerCase()}` }, t(`console.delivery.${s}`)); }

function apiKeys() {
  const list = h('div');
  const out = feedback({ id: 'key-feedback', class: 'feedback sticky' });
  const load = () => fill(list, area(async () => ({ canList: await has('apiKeys', 'apiKeyRevoke'), keys: (await has('apiKeys')) ? await fetchAll(KEYS, {}, (d) => d.apiKeys) : null }), ({ keys, canList }) => {
    if (!keys) return h('p', { class: 'muted' }, t('console.integrations.keysListUnavailable'));
    if (!keys.length) return empty(t('console.integrations.noKeys'));
    return table([
      ['console.integrations.keyName', (k) => k.name],
      ['console.integrations.created', (k) => dateTime(k.createdAt)],
      ['console.integrations.lastUsed', (k) => (k.lastUsedAt ? dateTime(k.lastUsedAt) : t('console.integrations.never'))],
      ['orders.status', (k) => (k.revokedAt ? h('span', { class: 'badge status-cancelled' }, t('console.integrations.revokedAt', { time: dateTime(k.revokedAt) })) : h('span', { class: 'badge status-open' }, t('console.integrations.active')))],
      ['console.actions', (k) => {
        if (k.revokedAt || !canList) return '';
        const fb = out;
        const b = h('button', { type: 'button', class: 'danger small revoke', onclick: async () => {
          if (!await confirmAction(t('console.integrations.revokeConfirm', { name: k.name }), t('console.integrations.revoke'))) return;
          if (await act(b, fb, async () => (await gql(KEY_REVOKE, { id: k.id })).apiKeyRevoke, t('console.integrations.revoked'))) setTimeout(load, 600);
        } }, t('console.integrations.revoke'));
        return b;
      }],
    ], keys, { id: 'api-keys' });
  }));
  const form = h('form', { class: 'console-form row wrap end', id: 'key-form', novalidate: true },
    h('div', { class: 'grow' }, field('key-name', 'console.integrations.keyName', { required: true, maxlength: 100, autocomplete: 'off' })),
    h('button', { type: 'submit', class: 'primary' }, t('console.integrations.keyCreate')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = val(form, 'key-name');
    const p = await act(form, out, async () => (await gql(KEY_CREATE, { name })).apiKeyCreate);
    if (p) {
      form.reset();
      fill(out, h('div', { class: 'notice success secret', role: 'status' },
        h('p', {}, h('strong', {}, t('console.integrations.keyCreated'))),
        h('p', {}, t('console.integrations.shownOnce')),
        h('code', { class: 'mono block', id: 'new-key' }, p.apiKey)));
      load();
    }
  });
  load();
  return section('console.integrations.keys', form, out, list);
}

function webhooks() {
  const list = h('div');
  const out = feedback({ id: 'hook-feedback', class: 'feedback sticky' });
  const load = () => fill(list, area(async () => ({ subs: (await gql(HOOKS)).webhookSubscriptions, canRetry: await has('webhookDeliveryRetry') }), ({ subs, canRetry }) => {
    if (!subs.length) return empty(t('console.integrations.noHooks'));
    return h('ul', { class: 'cards', id: 'webhooks' }, subs.map((s) => {
      const fb = out;
      const toggle = h('button', { type: 'button', class: s.active ? 'danger small' : 'secondary small', onclick: async () => {
        if (s.active && !await confirmAction(t('console.integrations.pauseConfirm', { url: s.url }), t('console.integrations.pause'))) return;
        if (await act(toggle, fb, async () => (await gql(HOOK_UPDATE, { id: s.id, i: { active: !s.active } })).webhookSubscriptionUpdate, t('console.saved'))) setTimeout(load, 600);
      } }, t(s.active ? 'console.integrations.pause' : 'console.integrations.resume'));
      return h('li', { class: 'card' },
        h('div', { class: 'row between wrap' }, h('h3', { class: 'mono' }, s.url), h('span', { class: `badge ${s.active ? 'status-open' : 'status-cancelled'}` }, t(s.active ? 'console.integrations.active' : 'console.integrations.paused'))),
        h('p', { class: 'muted' }, s.events.map((e) => t(`event.${e}`)).join(' · ')),
        h('div', { class: 'row wrap' }, toggle),
        h('details', { open: s.deliveries.some((d) => d.status === 'FAILED') },
          h('summary', {}, t('console.integrations.deliveries', { n: s.deliveries.length })),
          s.deliveries.length ? table([
            ['console.integrations.event', (d) => t(`event.${d.event}`)],
            ['orders.status', (d) => deliveryStatus(d.status)],
            ['console.integrations.attempts', (d) => String(d.attempts), { num: true }],
            ['console.integrations.result', (d) => (d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : d.lastError || '')],
            ['console.integrations.when', (d) => dateTime(d.lastAttemptAt || d.createdAt)],
            ['console.actions', (d) => {
              if (d.status !== 'FAILED') return '';
              if (!canRetry) return h('span', { class: 'muted' }, t('console.integrations.retryUnavailable'));
              const rb = out;
              const b = h('button', { type: 'button', class: 'secondary small retry', onclick: async () => {
                if (await act(b, rb, async () => (await gql(RETRY, { id: d.id })).webhookDeliveryRetry, t('console.integrations.retried'))) setTimeout(load, 800);
              } }, t('console.integrations.retry'));
              return b;
            }],
          ], s.deliveries) : empty(t('console.integrations.noDeliveries'))));
    }));
  }));
  const form = h('form', { class: 'console-form', id: 'hook-form', novalidate: true },
    field('hook-url', 'console.integrations.url', { type: 'url', required: true, placeholder: 'https://', autocomplete: 'off' }),
    h('fieldset', { class: 'events' }, h('legend', {}, t('console.integrations.events')),
      EVENTS.map((e) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'event', value: e, checked: e.startsWith('ORDER_') }), ` ${t(`event.${e}`)}`))),
    h('button', { type: 'submit', class: 'primary' }, t('console.integrations.hookCreate')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const i = { url: val(form, 'hook-url'), events: [...form.querySelectorAll('input[name=event]:checked')].map((c) => c.value) };
    const p = await act(form, out, async () => (await gql(HOOK_CREATE, { i })).webhookSubscriptionCreate);
    if (p) {
      form.reset();
      fill(out, h('div', { class: 'notice success secret', role: 'status' }, h('p', {}, h('strong', {}, t('console.integrations.hookCreated'))),
        h('p', {}, t('console.integrations.secretOnce')), h('code', { class: 'mono block' }, p.secret)));
      load();
    }
  });
  load();
  return section('console.integrations.webhooks', out, list, h('details', { class: 'create' }, h('summary', {}, t('console.integrations.hookNew')), form));
}

function emails() {
  return section('console.integrations.emails', area(() => gql(EMAILS), (d) => (d.emailDeliveries.length ? table([
    ['console.integrations.to', (m) => m.to],
    ['console.integrations.event', (m) => t(`event.${m.event}`)],
    ['orders.status', (m) => deliveryStatus(m.status)],
    ['console.integrations.attempts', (m) => String(m.attempts), { num: true }],
    ['console.integrations.result', (m) => m.lastError || ''],
    ['console.integrations.when', (m) => dateTime(m.deliveredAt || m.lastAttemptAt || m.createdAt)],
  ], d.emailDeliveries, { id: 'emails' }) : empty(t('console.integrations.noEmails')))));
}

export function render({ main }) {
  fill(main, h('h1', {}, t('console.integrations.title')), apiKeys(), webhooks(), emails());
  return null;
}
