// The reasoner benchmark runs (one sample each): transformers.js loads the same pack in this browser, generates the
// same greedy tokens as ours, and the decode ratio is printed. Timing is reported, never asserted.
import { expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { reasonerBench } from '../../../src/bench/reasoner';
import type { CaseResult } from '../../../src/bench/registry';
import fixtures from '../../fixtures/tiny-random/fixtures.json';

it('reasoner bench: same greedy tokens as transformers.js generate(), decode tokens/s printed as a ratio', async () => {
  const device = await acquireDevice();
  const results: CaseResult[] = [];
  const lines: string[] = [];
  const log = (l: string) => {
    lines.push(l);
    console.log(l);
  };
  await reasonerBench.run({ log, result: (r) => results.push(r) }, { device, reps: Number(import.meta.env.VITE_BENCH_REPS ?? 1) });
  expect(results).toHaveLength(1);
  for (const n of results[0]!.notes) console.log(n);
  // The tokens each side generated, as the bench logged them: equal to each other and to the PyTorch fixture.
  const tokens = (who: string) => lines.find((l) => l.startsWith(`${who}:`))?.split(':')[1]?.trim().split(',').map(Number);
  const fixture = (fixtures.greedy as { name: string; generated_ids: number[] }[]).find((g) => g.name === 'plain')!;
  const ours = tokens('ours');
  expect(ours?.length).toBeGreaterThan(1);
  expect(tokens('transformers.js')).toEqual(ours);
  expect(ours).toEqual(fixture.generated_ids.slice(0, ours!.length));
}, 600_000);
