/**
 * @file The script of bench.html: starts the benchmark worker (src/bench/worker.ts) with `?filter=` / `?reps=`
 * from the URL and forwards each event to `window.__benchEmit` when scripts/bench.mjs has exposed it (that is
 * how `npm run bench` prints its table). Events are also listed in the page, so bench.html works in a browser.
 */
import type { BenchEvent } from './events';
import type { BenchStart } from './worker';

declare global {
  interface Window {
    __benchEmit?: (e: BenchEvent) => Promise<void> | void;
  }
}

const pre = document.createElement('pre');
document.body.append(pre);

function show(e: BenchEvent): void {
  pre.textContent += `${JSON.stringify(e)}\n`;
  void window.__benchEmit?.(e);
}

const params = new URLSearchParams(location.search);
const start: BenchStart = {
  filter: params.get('filter') ?? undefined,
  reps: params.has('reps') ? Number(params.get('reps')) : undefined,
};
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'bench' });
worker.onmessage = (m: MessageEvent<BenchEvent>) => show(m.data);
worker.onerror = (e) => {
  show({ type: 'error', bench: '(worker)', message: e.message || 'the benchmark worker failed to start' });
  show({ type: 'done', ok: false });
};
worker.postMessage(start);
