import { getContext, setContext } from 'svelte';

export const VIEWS = [
  { id: 'imagine', label: 'Imagine' },
  { id: 'understand', label: 'Understand' },
  { id: 'edit', label: 'Edit' },
  { id: 'compare', label: 'Compare' },
  { id: 'rgpo', label: 'RGPO lab' },
  { id: 'history', label: 'History' },
  { id: 'models', label: 'Models' },
  { id: 'device', label: 'Device' },
] as const;
export type ViewId = (typeof VIEWS)[number]['id'];
export const DEFAULT_VIEW: ViewId = 'imagine';

const isView = (s: string): s is ViewId => VIEWS.some((v) => v.id === s);

/** `#/compare?c=…` → { view: 'compare', query: c=… }; anything unknown is the default view. */
export function parseHash(hash: string): { view: ViewId; query: URLSearchParams } {
  const h = hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  const path = (q < 0 ? h : h.slice(0, q)).replace(/\/+$/, '');
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- not mutated
  return { view: isView(path) ? path : DEFAULT_VIEW, query: new URLSearchParams(q < 0 ? '' : h.slice(q + 1)) };
}

export function hashOf(view: ViewId, query?: URLSearchParams | Record<string, string>): string {
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- not mutated
  const qs = query ? new URLSearchParams(query).toString() : '';
  return `#/${view}${qs ? `?${qs}` : ''}`;
}

/** Hash-based routing: the view lives in the URL, so a reload (or a shared link) opens the same view. */
export class Router {
  view = $state<ViewId>(DEFAULT_VIEW);
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- not mutated
  query = $state.raw<URLSearchParams>(new URLSearchParams());
  /** Changes of view after the first, so the shell moves focus only when the user navigates. */
  navigations = $state(0);

  constructor() {
    this.read();
  }

  private read(): void {
    const { view, query } = parseHash(location.hash);
    if (view !== this.view) this.navigations++;
    this.view = view;
    this.query = query;
  }

  /** Follows hashchange events; returns the stop function. */
  listen(): () => void {
    const on = () => this.read();
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }

  go(view: ViewId, query?: Record<string, string>): void {
    location.hash = hashOf(view, query);
  }

  /** Rewrites the current URL's query without adding a history entry (used for shareable configuration). */
  replaceQuery(query: Record<string, string>): void {
    const h = hashOf(this.view, query);
    history.replaceState(history.state, '', h);
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- not mutated
    this.query = new URLSearchParams(query);
  }
}

const KEY = Symbol('router');
export function setRouter(r: Router): Router {
  return setContext(KEY, r);
}
export function getRouter(): Router {
  return getContext<Router>(KEY);
}
