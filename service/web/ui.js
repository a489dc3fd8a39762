// Pieces every screen shares: a request area with loading and error states, status badges, messages.
import { h, fill } from './dom.js';
import { t } from './i18n.js';
import { countdown } from './format.js';

/** The sentence that explains an ApiError (or any error) to the user. */
export function explain(error) {
  switch (error && error.kind) {
    case 'network':
      if (error.message === 'offline') return t('error.offline');
      if (error.message === 'uncertain') return t('error.uncertain');
      return t(error.message === 'timeout' ? 'error.timeout' : 'error.network');
    case 'auth': return t('error.auth');
    case 'tenant': return t('error.tenant');
    case 'http': return t('error.http', { status: error.status ?? '?' });
    case 'graphql':
      if (error.code === 'FORBIDDEN') return t('error.forbidden');
      return t('error.api', { message: error.message });
    default: return t('error.api', { message: (error && error.message) || String(error) });
  }
}

export function errorBox(error, retry) {
  return h('div', { class: `notice error kind-${(error && error.kind) || 'unknown'}`, role: 'alert' },
    h('p', {}, explain(error)),
    retry ? h('button', { type: 'button', class: 'secondary', onclick: retry }, t('common.retry')) : null);
}

export function loadingBox() {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('common.loading'));
}

/**
 * Runs `fetch()` for one area of a screen: shows loading, then `render(data)`, or an error with a retry.
 * Returns the area element; its content is replaced as the request progresses.
 */
export function area(fetch, render, attrs = {}) {
  const el = h('div', { class: 'area', 'aria-live': 'polite', ...attrs });
  const run = async () => {
    el.setAttribute('aria-busy', 'true');
    fill(el, loadingBox());
    try {
      const data = await fetch();
      fill(el, render(data, run));
    } catch (e) {
      if (e && e.kind === 'auth') return; // the app is already on its way back to sign in
      console.warn(e);
      fill(el, errorBox(e, run));
    } finally {
      el.removeAttribute('aria-busy');
    }
  };
  run();
  return el;
}

export function badge(status) {
  return h('span', { class: `badge status-${String(status).toLowerCase()}` }, t(`status.${status}`));
}

export function empty(text) { return h('p', { class: 'empty' }, text); }

export function message(kind, text) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('p', {}, text));
}

/** A payload's `errors` (UserError list) as one readable sentence. */
export function userErrorText(errors) {
  return errors.map((e) => e.message || e.code).join(' ');
}

function showTimeLeft(el) {
  const left = countdown(el.dataset.closesAt);
  el.textContent = left ? t('today.closesIn', { time: left }) : t('today.closed');
  el.classList.toggle('over', !left);
}

/** A live countdown to `closesAt` (kept ticking by startCountdowns). */
export function countdownTimer(closesAt, attrs = {}) {
  const el = h('span', { class: 'countdown', role: 'timer', ...attrs, dataset: { closesAt } });
  showTimeLeft(el);
  return el;
}

/** Live countdowns: every element with data-closes-at shows the time left until then. Returns a stop function. */
export function startCountdowns(root) {
  const tick = () => root.querySelectorAll('[data-closes-at]').forEach(showTimeLeft);
  tick();
  const timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}

export function edges(connection) { return ((connection && connection.edges) || []).map((e) => e.node); }

/** "1 order" / "2 orders": t() picks `key#one` for n === 1. */
export function plural(key, n) { return t(key, { n }); }
