// The client's service worker (scope /app/): the app shell and the last answers to its queries stay
// on the phone, so a reload with no signal shows the last loaded batch, orders and pick list, marked
// as offline with the time of the data. Mutations are never queued: offline, one is refused at once
// (code OFFLINE) and the screen keeps what was typed: nothing is lost, nothing is sent twice. A
// mutation sent whose answer never came may have been done: UNCERTAIN, never "not done".
const SHELL = 'groupbuy-shell-v3';
const DATA = 'groupbuy-data-v1';
// Answers kept: every lookup at the counter is one, so the oldest go (the screens' own stay fresh).
const KEEP = 100;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    const page = await fetch('/app/', { cache: 'no-cache' });
    const html = await page.clone().text();
    const modules = [...html.matchAll(/rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1]);
    const later = (/<meta name="groupbuy-modules" content="([^"]*)"/.exec(html) || [])[1] || '';
    modules.push(...later.split(' ').filter(Boolean).map((name) => `/app/${name}`));
    await cache.put('/app/', page);
    await cache.addAll(['/app/app.js', '/app/styles.css', '/app/print.css', ...modules]);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (![SHELL, DATA].includes(name)) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== location.origin) return;
  if (url.pathname === '/graphql' && event.request.method === 'POST') event.respondWith(graphql(event.request));
  else if (event.request.mode === 'navigate' && url.pathname.startsWith('/app')) event.respondWith(page(event.request));
  else if (event.request.method === 'GET' && url.pathname.startsWith('/app/')) event.respondWith(shell(event.request));
});

/** The page (the same for every /app/<slug>/): the kept one at once, refreshed behind it (a new
 * release shows on the next visit, as the scripts do): a slow network costs the data's round trip only. */
async function page(request) {
  const cache = await caches.open(SHELL);
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put('/app/', response.clone());
    return response;
  });
  const cached = await cache.match('/app/');
  if (cached) { fresh.catch(() => {}); return cached; }
  return fresh.catch(() => Response.error());
}

/** Scripts and styles: the cached copy at once (a slow network costs nothing), refreshed behind it. */
async function shell(request) {
  const cache = await caches.open(SHELL);
  const cached = await cache.match(request, { ignoreSearch: true });
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  });
  if (cached) { fresh.catch(() => {}); return cached; }
  return fresh;
}

async function digest(text) {
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 32);
}

/** Queries: the network's answer, kept per account and query; offline, the kept one with its time.
 * Mutations: the network's answer, or OFFLINE at once. */
async function graphql(request) {
  const body = await request.clone().text();
  let operation = {};
  try { operation = JSON.parse(body); } catch { /* not ours to judge: the server answers */ }
  const isMutation = /^\s*mutation\b/.test(operation.query || '');
  const key = `/app/__data__/${await digest(`${request.headers.get('authorization') || ''}|${request.headers.get('x-tenant') || ''}|${request.headers.get('accept-language') || ''}|${body}`)}`;
  try {
    const response = await fetch(request);
    if (!isMutation && response.ok) {
      const copy = response.clone();
      const headers = new Headers(copy.headers);
      headers.set('x-cached-at', new Date().toISOString());
      const kept = new Response(await copy.blob(), { status: copy.status, headers });
      const data = await caches.open(DATA);
      await data.put(key, kept);
      const keys = await data.keys();
      for (const old of keys.slice(0, Math.max(0, keys.length - KEEP))) await data.delete(old);
    }
    return response;
  } catch {
    if (!isMutation) {
      const cached = await (await caches.open(DATA)).match(key);
      if (cached) {
        const headers = new Headers(cached.headers);
        headers.set('x-offline', '1');
        return new Response(await cached.blob(), { status: 200, headers });
      }
    }
    const code = isMutation ? 'UNCERTAIN' : 'OFFLINE'; // the page refuses a mutation itself when offline
    return new Response(JSON.stringify({ data: null, errors: [{ message: code.toLowerCase(), extensions: { code } }] }),
      { status: 503, headers: { 'content-type': 'application/json', 'x-offline': '1' } });
  }
}
