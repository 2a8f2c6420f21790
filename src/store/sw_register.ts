/**
 * @file Registers the service worker (src/sw.ts, built as /sw.js) in production builds, once the page has loaded,
 * so precaching the shell and onnxruntime-web's files never competes with the first screen. Dev servers have no
 * service worker (it would fight hot reloading). A failed registration only costs offline use, so it is logged,
 * not shown.
 */
export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  const base = import.meta.env.BASE_URL;
  const register = () =>
    navigator.serviceWorker.register(`${base}sw.js`, { scope: base }).catch((e: unknown) => {
      console.warn('Offline use is unavailable: the service worker could not be registered.', e);
    });
  if (document.readyState === 'complete') void register();
  else window.addEventListener('load', () => void register(), { once: true });
}
