/**
 * @file Registers the service worker (src/sw.ts, built as /sw.js) in production builds, once the page has loaded,
 * so precaching the shell and onnxruntime-web's files never competes with the first screen. Dev servers have no
 * service worker (it would fight hot reloading). A failed registration only costs offline use, so it is logged,
 * not shown.
 *
 * Updates (rules in src/sw/rules.ts): a new version waits while pages of the previous one are open. A page of the
 * new build (its own script is in the waiting version's precache) lets it take over at once; a page of the previous
 * build is told through `onUpdateReady`, and the app offers a reload that lets the new version take over.
 */

/** What a page posts to a waiting version to let it take over now. */
export const TAKE_OVER = 'rg-sw-take-over';
/** What a page posts when it has loaded, so the active version can drop the caches no open page needs any more. */
export const PAGE_LOADED = 'rg-sw-page-loaded';
/** What a page asks a waiting version (with a MessageChannel port): "is this URL in your precache?" */
export const PRECACHES = 'rg-sw-precaches';

type UpdateListener = (reload: () => void) => void;
const listeners = new Set<UpdateListener>();
let pending: (() => void) | null = null;

/** Calls `listener` with a reload function when a new version is waiting (at once if one already is). */
export function onUpdateReady(listener: UpdateListener): () => void {
  listeners.add(listener);
  if (pending) listener(pending);
  return () => listeners.delete(listener);
}

/** Asks a waiting worker whether it precaches `url` (false when it does not answer). */
function precaches(worker: ServiceWorker, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    const timer = setTimeout(() => resolve(false), 3000);
    ch.port1.onmessage = (e) => {
      clearTimeout(timer);
      resolve(e.data === true);
    };
    worker.postMessage({ type: PRECACHES, url }, [ch.port2]);
  });
}

async function waiting(worker: ServiceWorker): Promise<void> {
  const takeOver = () => worker.postMessage({ type: TAKE_OVER });
  // This page already runs the new build (it was loaded from the network while the old version was active).
  if (await precaches(worker, new URL(import.meta.url).href)) return takeOver();
  pending = () => {
    navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
    takeOver();
  };
  for (const l of listeners) l(pending);
}

function watch(reg: ServiceWorkerRegistration): void {
  navigator.serviceWorker.controller?.postMessage({ type: PAGE_LOADED });
  if (!navigator.serviceWorker.controller) return; // first visit: the first version takes over at once
  const track = (w: ServiceWorker | null) =>
    w?.addEventListener('statechange', () => {
      if (w.state === 'installed') void waiting(w);
    });
  if (reg.waiting) void waiting(reg.waiting);
  track(reg.installing);
  reg.addEventListener('updatefound', () => track(reg.installing));
}

export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  const base = import.meta.env.BASE_URL;
  const register = () =>
    navigator.serviceWorker.register(`${base}sw.js`, { scope: base }).then(watch, (e: unknown) => {
      console.warn('Offline use is unavailable: the service worker could not be registered.', e);
    });
  if (document.readyState === 'complete') void register();
  else window.addEventListener('load', () => void register(), { once: true });
}
