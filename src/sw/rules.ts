/**
 * @file The service worker's update rules (src/sw.ts), pure so a unit test can state them: when a new version takes
 * over, and which caches it may delete. A page of the previous build still open in another tab needs that build's
 * files (its hashed scripts, its `/ort/<hash>/` companions, loaded lazily when its worker starts or restarts), and
 * they live only in the previous version's cache; so a new version waits while such pages are open (the page offers
 * a reload), and once it runs it keeps the previous caches until every page that was open when it took over is gone.
 */

/** Every cache of ours is named `rg-shell-<version>`. */
export const CACHE_PREFIX = 'rg-shell-';

/**
 * The messages a page posts to the service worker. The page side (src/store/sw_register.ts) spells them too: sw.js
 * must stay one classic script, so it imports nothing the page's bundle also imports (that would become a shared
 * chunk and an `import` the service worker cannot run); tests/unit/sw/rules.test.ts checks both agree.
 */
export const MESSAGES = {
  /** Lets a waiting version take over now. */
  takeOver: 'rg-sw-take-over',
  /** A page has loaded: the active version may drop the caches no open page needs any more. */
  pageLoaded: 'rg-sw-page-loaded',
  /** "Is this URL in your precache?" (answered through the MessageChannel port sent with it). */
  precaches: 'rg-sw-precaches',
} as const;

/**
 * Whether a freshly installed version takes over at once (skipWaiting): when there is no previous version, or no
 * page is open that the previous one serves. Otherwise it waits until those pages close or one asks to reload.
 */
export function takeOverAtOnce(previousActive: boolean, openPages: number): boolean {
  return !previousActive || openPages === 0;
}

/**
 * Whether a page that was open when this version took over (an old page, served by the previous build's files) is
 * still open. `oldPages` is null when not known (the service worker was stopped and restarted since): then assume
 * yes, and keep the old caches until the next version's activation.
 */
export function oldPagesOpen(oldPages: ReadonlySet<string> | null, openPageIds: readonly string[]): boolean {
  if (oldPages === null) return true;
  return openPageIds.some((id) => oldPages.has(id));
}

/** The caches to delete: other versions' caches, none while an old page is open; never a cache that is not ours. */
export function staleCaches(names: readonly string[], current: string, keepOld: boolean): string[] {
  if (keepOld) return [];
  return names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== current);
}
