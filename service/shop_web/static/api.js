// The storefront's only way to the service: POST /graphql. Anonymous calls name the tenant with the
// X-Tenant header; a signed-in customer's token names it by itself.
//
// Two kinds of failure, handled differently by the screens:
//   - `UserError`s come back inside a mutation's payload (`errors { code field message }`): the input
//     was refused, nothing was written; show `message` (already in the caller's language) next to `field`.
//   - Anything else (network, an expired token, a GraphQL error) throws an ApiError.

export const slug = decodeURIComponent(location.pathname.split('/')[2] || '');
const TOKEN_KEY = `shop.${slug}.token`;

export class ApiError extends Error {
  constructor(message, code = null) {
    super(message);
    this.code = code;
  }
}

export const auth = {
  get token() { return localStorage.getItem(TOKEN_KEY); },
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

/** The language the API answers in (messages of UserErrors): set by i18n.js. */
export const prefs = { lang: 'zh-CN' };

/** Runs one operation and returns its `data`. */
export async function gql(query, variables = {}) {
  const headers = { 'Content-Type': 'application/json', 'Accept-Language': prefs.lang };
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  else headers['X-Tenant'] = slug;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError('network', 'NETWORK');
  }
  const body = await response.json().catch(() => null);
  const error = body && body.errors && body.errors[0];
  const code = error && error.extensions && error.extensions.code;
  if (response.status === 401 || code === 'TOKEN_EXPIRED' || code === 'INVALID_TOKEN') {
    auth.token = null; // signed out: the screen asks to sign in again
    throw new ApiError(error ? error.message : 'unauthenticated', 'UNAUTHENTICATED');
  }
  if (error) throw new ApiError(error.message, code || null);
  if (!body || !body.data) throw new ApiError(`HTTP ${response.status}`, 'HTTP');
  return body.data;
}

/**
 * The idempotency key of one order attempt. It is kept until the order is placed, so retrying after
 * a lost answer (a timeout, a closed app) returns the same order instead of placing a second one.
 */
export function idempotencyKey(cartSignature) {
  const stored = JSON.parse(sessionStorage.getItem(`shop.${slug}.attempt`) || 'null');
  if (stored && stored.cart === cartSignature) return stored.key;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const key = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  sessionStorage.setItem(`shop.${slug}.attempt`, JSON.stringify({ cart: cartSignature, key }));
  return key;
}

export function forgetAttempt() { sessionStorage.removeItem(`shop.${slug}.attempt`); }
