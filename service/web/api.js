// The one way the client talks to the service: POST /graphql with the user's token and tenant.
// Every failure becomes an ApiError with a `kind` the screens can explain:
//   auth     the token expired or is not valid (HTTP 401, TOKEN_EXPIRED, INVALID_TOKEN): sign in again
//   tenant   no such tenant (UNKNOWN_TENANT) or token and tenant disagree
//   network  the server could not be reached (offline, timeout), or a change's answer was lost (uncertain)
//   graphql  the request was refused or failed (unknown field while the API is being built, FORBIDDEN, ...)
//   http     the server answered with something that is not GraphQL (e.g. a 502 page)
import { session } from './session.js';
import { lang } from './i18n.js';

const ENDPOINT = '/graphql';
const TIMEOUT_MS = 20000;
const AUTH_CODES = new Set(['TOKEN_EXPIRED', 'INVALID_TOKEN', 'UNAUTHENTICATED']);
const TENANT_CODES = new Set(['UNKNOWN_TENANT', 'TENANT_MISMATCH', 'TENANT_REQUIRED']);

export class ApiError extends Error {
  constructor(kind, message, { code = null, status = null, errors = [] } = {}) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.status = status;
    this.errors = errors;
  }
}

let onAuthFailure = () => {};
/** app.js registers what happens when the token is refused (back to sign in). */
export function setAuthFailureHandler(fn) { onAuthFailure = fn; }

function headers({ tenant, anonymous } = {}) {
  // Messages come back in the language on screen, never the other one.
  const h = { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json',
    'Accept-Language': lang() };
  const token = anonymous ? null : session.token;
  if (token) h.Authorization = `Bearer ${token}`;
  // The token already names the tenant; the header is for anonymous calls (sign in, tenant settings).
  else if (tenant || session.slug) h['X-Tenant'] = tenant || session.slug;
  return h;
}

let serverClock = null; // the last response's Date header, and this device's clock when it came

/** The server's time now (its last Date header, 1 s resolution, plus what elapsed since): a phone's
 * clock may be minutes off. The device's own clock before any answer came. */
export function serverNow() {
  return serverClock ? serverClock.server + (Date.now() - serverClock.local) : Date.now();
}

async function send(url, init) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    const date = Date.parse(response.headers.get('date') || '');
    if (!Number.isNaN(date)) serverClock = { server: date, local: Date.now() };
    return response;
  } catch (e) {
    throw new ApiError('network', e && e.name === 'AbortError' ? 'timeout' : 'unreachable');
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one GraphQL operation and returns its `data`; throws ApiError on any GraphQL or transport error.
 * Options: tenant (slug for X-Tenant), anonymous (send no token).
 */
export async function gql(query, variables = {}, options = {}) {
  const operationName = (query.match(/^\s*(?:query|mutation)\s+(\w+)/) || [])[1];
  const mutation = /^\s*mutation\b/.test(query);
  // With no signal a mutation is not sent, so it certainly was not done; once sent, a lost answer
  // (a dropped connection, a timeout) leaves it unknown, and the screen says so. Signing in (the one
  // anonymous change) is harmless to repeat: a plain network error.
  if (mutation && navigator.onLine === false) throw new ApiError('network', 'offline', { code: 'OFFLINE' });
  let response;
  try {
    response = await send(ENDPOINT, {
      method: 'POST',
      headers: headers(options),
      body: JSON.stringify({ query, variables, operationName }),
    });
  } catch (e) {
    if (mutation && !options.anonymous && e instanceof ApiError && e.kind === 'network') throw new ApiError('network', 'uncertain');
    throw e;
  }
  return read(response, options);
}

/**
 * The answer to the request index.html started before the code came (`response`, a fetch promise),
 * read as gql() reads one, but as { data, error }: the fields that resolved beside the first error.
 */
export async function gqlStarted(response) {
  let answer;
  try {
    answer = await response;
  } catch {
    throw new ApiError('network', 'unreachable');
  }
  const date = Date.parse(answer.headers.get('date') || '');
  if (!Number.isNaN(date)) serverClock = { server: date, local: Date.now() };
  return read(answer, { partial: true });
}

async function read(response, options) {
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  const errors = (body && Array.isArray(body.errors)) ? body.errors : [];
  const codes = errors.map((e) => e && e.extensions && e.extensions.code).filter(Boolean);
  const code = codes[0] || null;
  // The service worker answered (sw.js): kept data with its time, or a refusal of what needs the network.
  const offline = response.headers.get('x-offline') === '1';
  window.dispatchEvent(new CustomEvent('groupbuy:network', {
    detail: { offline, dataAt: offline ? response.headers.get('x-cached-at') : null },
  }));
  if (code === 'OFFLINE') throw new ApiError('network', 'offline', { code });
  if (code === 'UNCERTAIN') throw new ApiError('network', options.anonymous ? 'unreachable' : 'uncertain', { code });
  if (response.status === 401 || codes.some((c) => AUTH_CODES.has(c))) {
    const err = new ApiError('auth', errors[0]?.message || 'unauthenticated', { code, status: response.status, errors });
    if (!options.anonymous) onAuthFailure(err);
    throw err;
  }
  if (codes.some((c) => TENANT_CODES.has(c))) {
    throw new ApiError('tenant', errors[0].message, { code, status: response.status, errors });
  }
  if (!body || typeof body !== 'object') {
    throw new ApiError('http', `HTTP ${response.status}`, { status: response.status });
  }
  if (errors.length && options.partial && body.data) {
    return { data: body.data, error: new ApiError('graphql', errors.map((e) => e.message).join('\n'), { code, status: response.status, errors }) };
  }
  if (errors.length) {
    throw new ApiError('graphql', errors.map((e) => e.message).join('\n'), { code, status: response.status, errors });
  }
  if (!response.ok || !body.data) {
    throw new ApiError('http', `HTTP ${response.status}`, { status: response.status });
  }
  return options.partial ? { data: body.data, error: null } : body.data;
}

/** Fetches an authenticated download (e.g. a purchase order's csvUrl) and saves it as a file. */
export async function download(url, filename) {
  const response = await send(url, { headers: { Authorization: `Bearer ${session.token}` } });
  if (response.status === 401) {
    const err = new ApiError('auth', 'unauthenticated', { status: 401 });
    onAuthFailure(err);
    throw err;
  }
  if (!response.ok) throw new ApiError('http', `HTTP ${response.status}`, { status: response.status });
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
  return blob;
}
