/**
 * @file The benchmark worker: runs the registered benchmarks (filtered) on the worker's WebGPU device and posts
 * one BenchEvent per step to the page. Benchmarks run in a worker, as the app's models do: onnxruntime-web's WASM
 * threads (the page is cross-origin isolated) must not be started from a page's main thread.
 */
import { acquireDevice, capabilities } from '../gpu/device';
import { BENCHES } from './registry';
import type { BenchEvent } from './events';

export interface BenchStart {
  filter?: string;
  reps?: number;
}

const post = (e: BenchEvent) => self.postMessage(e);

async function runAll({ filter, reps }: BenchStart): Promise<void> {
  const selected = BENCHES.filter((b) => (filter ? b.name.toLowerCase().includes(filter.toLowerCase()) : !b.optIn));
  const caps = await capabilities();
  post({
    type: 'start',
    adapter: caps.available
      ? `${caps.vendor} ${caps.architecture} ${caps.description}`.trim()
      : `none (${caps.reason})`,
    userAgent: navigator.userAgent,
    benches: selected.map((b) => b.name),
  });
  let ok = true;
  if (!caps.available) {
    post({ type: 'error', bench: '(setup)', message: `no WebGPU adapter: ${caps.reason}` });
    ok = false;
  } else {
    const device = await acquireDevice();
    for (const bench of selected) {
      post({ type: 'bench', name: bench.name, description: bench.description });
      try {
        await bench.run(
          {
            log: (line) => post({ type: 'log', bench: bench.name, line }),
            result: (result) => post({ type: 'case', bench: bench.name, result }),
          },
          { device, reps },
        );
      } catch (e) {
        ok = false;
        post({
          type: 'error',
          bench: bench.name,
          message: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e),
        });
      }
    }
  }
  post({ type: 'done', ok });
}

self.onmessage = (m: MessageEvent<BenchStart>) => {
  runAll(m.data).catch((e) => {
    post({ type: 'error', bench: '(harness)', message: String(e) });
    post({ type: 'done', ok: false });
  });
};
