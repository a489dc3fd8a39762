// What the client remembers between visits: the token, the tenant slug and the chosen language;
// and, while signed in, the service worker's last answers (sw.js), which go with the account.

const KEY = 'groupbuy.session';
const LANG_KEY = 'groupbuy.lang';

export const session = {
  get token() { return read().token || null; },
  get slug() { return read().slug || null; },
  save({ token, slug }) { localStorage.setItem(KEY, JSON.stringify({ token, slug })); forgetKeptAnswers(); },
  /** Sign out (or an expired token): forget the token, keep the tenant so signing in again is quick. */
  clearToken() { const { slug } = read(); localStorage.setItem(KEY, JSON.stringify({ slug })); forgetKeptAnswers(); },
  get chosenLang() { return localStorage.getItem(LANG_KEY); },
  set chosenLang(lang) { localStorage.setItem(LANG_KEY, lang); },
};

/** The answers kept for offline use name customers and their phone numbers: they leave the phone
 * with the account (and again at the next sign-in, for an answer that was still on its way). */
function forgetKeptAnswers() {
  if (!globalThis.caches) return;
  caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith('groupbuy-data')).map((n) => caches.delete(n))))
    .catch(() => {});
}

function read() {
  try { return JSON.parse(localStorage.getItem(KEY) || '{}') || {}; } catch { return {}; }
}

/**
 * The tenant named by the page's address: `/app/<slug>/` (the link a brand gives its leaders),
 * `?tenant=<slug>`, or the first label of a `<slug>.<brand domain>` host name (not for IP
 * addresses, localhost or www/app).
 */
export function tenantFromAddress(loc = window.location) {
  const inPath = /^\/app\/([a-z0-9-]{3,40})\/?/.exec(loc.pathname.toLowerCase());
  if (inPath) return inPath[1];
  const fromQuery = new URLSearchParams(loc.search).get('tenant');
  if (fromQuery) return fromQuery.trim().toLowerCase();
  const host = loc.hostname;
  if (/^[\d.]+$/.test(host) || host.includes(':')) return null;
  const labels = host.split('.');
  if (labels.length < 3) return null;
  const first = labels[0].toLowerCase();
  if (['www', 'app', 'api'].includes(first) || !/^[a-z0-9-]{3,40}$/.test(first)) return null;
  return first;
}
