// The reasoner benchmark runs (one sample each): transformers.js loads the same pack in this browser, generates the
// same greedy tokens as ours, and the decode ratio is printed. Timing is reported, never asserted.
import { expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { reasonerBench } from '../../../src/bench/reasoner';
import type { CaseResult } from '../../../src/bench/registry';

it('reasoner bench: same greedy tokens as transformers.js generate(), decode tokens/s printed as a ratio', async () => {
  const device = await acquireDevice();
  const results: CaseResult[] = [];
  await reasonerBench.run({ log: (l) => console.log(l), result: (r) => results.push(r) }, { device, reps: Number(import.meta.env.VITE_BENCH_REPS ?? 1) });
  expect(results).toHaveLength(1);
  for (const n of results[0]!.notes) console.log(n);
  expect(results[0]!.notes[0]).toMatch(/same greedy tokens/);
}, 600_000);
