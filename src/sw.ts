/**
 * @file The service worker: makes the app open with the network off. At install it precaches the app shell (the
 * built HTML, JS, CSS, the worker bundle) and onnxruntime-web's `/ort/<hash>/` files, under a cache named after the
 * build. An update never pulls files from under an open page (src/sw/rules.ts): a new version waits while pages of
 * the previous one are open (the page shows "a new version is ready", and Reload lets it take over), and once active
 * it keeps the previous caches, still answering those pages' requests for their own files, until every page open at
 * the take-over has closed. Navigations go to the network first (so an online visit always gets the
 * newest build) and fall back to the cached shell; precached files are served cache-first (their names carry
 * content hashes). Pack files are NOT handled here: the weights store keeps them in IndexedDB (src/store/).
 *
 * Every response served from the cache carries the security headers the server sends (COOP/COEP/CORP for
 * cross-origin isolation, the CSP): the cached responses keep the server's headers, and any that lack them get
 * them added, so a reload offline is still cross-origin isolated (WASM threads) and still under the same CSP.
 *
 * The build (the `rg-service-worker` plugin in vite.config.ts) emits this file as `/sw.js` and replaces
 * `__RG_SW_CONFIG__` with the list of files to precache, the build's version and the headers.
 */
interface SwConfig {
  version: string;
  /** The app's base URL, ending in '/'. */
  base: string;
  /** Paths relative to `base`. */
  files: string[];
  headers: Record<string, string>;
}

import { CACHE_PREFIX, MESSAGES, oldPagesOpen, staleCaches, takeOverAtOnce } from './sw/rules';

const sw = self as unknown as ServiceWorkerGlobalScope;
const CONFIG = JSON.parse('__RG_SW_CONFIG__') as SwConfig;
const CACHE = `${CACHE_PREFIX}${CONFIG.version}`;
const scopeUrl = new URL(CONFIG.base, sw.location.href);
const SHELL = new URL('index.html', scopeUrl).href;
const precached = new Set(CONFIG.files.map((f) => new URL(f, scopeUrl).href));

/** The response with the configured security headers added where missing. */
function secured(res: Response): Response {
  if (res.type === 'opaque' || res.type === 'opaqueredirect') return res;
  const missing = Object.entries(CONFIG.headers).filter(([k]) => !res.headers.has(k));
  if (!missing.length) return res;
  const headers = new Headers(res.headers);
  for (const [k, v] of missing) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

async function openPages(): Promise<readonly Client[]> {
  return sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `cache: 'reload'` skips the HTTP cache, so what is stored is what the server has now.
      await cache.addAll([...precached].map((url) => new Request(url, { cache: 'reload' })));
      if (takeOverAtOnce(!!sw.registration.active, (await openPages()).length)) await sw.skipWaiting();
    })(),
  );
});

/** Ids of the pages open when this version took over (they run the previous build); null once forgotten. */
let oldPages: Set<string> | null = null;

/** Deletes the previous versions' caches once no page that may need them is open. */
async function dropStaleCaches(): Promise<void> {
  const open = (await openPages()).map((c) => c.id);
  for (const name of staleCaches(await caches.keys(), CACHE, oldPagesOpen(oldPages, open))) await caches.delete(name);
}

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      oldPages = new Set((await openPages()).map((c) => c.id));
      await dropStaleCaches();
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('message', (event) => {
  const data = event.data as { type?: unknown; url?: unknown } | null;
  if (data?.type === MESSAGES.takeOver) event.waitUntil(sw.skipWaiting());
  else if (data?.type === MESSAGES.pageLoaded) event.waitUntil(dropStaleCaches());
  else if (data?.type === MESSAGES.precaches)
    event.ports[0]?.postMessage(typeof data.url === 'string' && precached.has(data.url));
});

async function fromCache(url: string): Promise<Response | undefined> {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(url);
  return hit ? secured(hit) : undefined;
}

/** Paths whose names carry a content hash (Vite's assets, onnxruntime-web's companions): the same URL, same bytes. */
function hashedShellPath(pathname: string): boolean {
  return pathname.startsWith(`${scopeUrl.pathname}assets/`) || pathname.startsWith(`${scopeUrl.pathname}ort/`);
}

async function previousBuild(req: Request, url: string): Promise<Response> {
  const hit = await caches.match(url);
  return hit ? secured(hit) : fetch(req);
}

async function navigation(req: Request): Promise<Response> {
  try {
    return await fetch(req);
  } catch (e) {
    const shell = await fromCache(SHELL);
    if (shell) return shell;
    throw e;
  }
}

async function asset(req: Request, url: string): Promise<Response> {
  const hit = await fromCache(url);
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok && res.status === 200) {
    const copy = res.clone();
    void caches.open(CACHE).then((c) => c.put(url, copy));
  }
  return res;
}

sw.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== scopeUrl.origin) return;
  if (req.mode === 'navigate' && url.pathname.startsWith(scopeUrl.pathname)) {
    event.respondWith(navigation(req));
    return;
  }
  const key = url.origin + url.pathname;
  if (req.headers.has('range')) return;
  // Only the shell is ours to answer; everything else (pack files, Range requests) goes to the network untouched.
  if (precached.has(key)) event.respondWith(asset(req, key));
  // A page of the previous build asks for its own hashed files: from the previous version's cache while it is kept.
  else if (hashedShellPath(url.pathname)) event.respondWith(previousBuild(req, key));
});
