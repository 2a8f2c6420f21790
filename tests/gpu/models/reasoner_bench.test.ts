// The reasoner benchmark runs (one sample each): transformers.js loads the same pack in this browser, generates the
// same greedy tokens as our engine and our ORT loop, and the decode ratios are printed. Timing is reported, never
// asserted.
import { expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { reasonerBench } from '../../../src/bench/reasoner';
import type { CaseResult } from '../../../src/bench/registry';
import fixtures from '../../fixtures/tiny-random/fixtures.json';

const title =
  'reasoner bench: engine, ORT loop and transformers.js generate() give the same greedy tokens, ' +
  'decode tokens/s printed as ratios';
it(
  title,
  async () => {
    const device = await acquireDevice();
    const results: CaseResult[] = [];
    const lines: string[] = [];
    const log = (l: string) => {
      lines.push(l);
      console.log(l);
    };
    await reasonerBench.run(
      { log, result: (r) => results.push(r) },
      { device, reps: Number(import.meta.env.VITE_BENCH_REPS ?? 1) },
    );
    expect(results).toHaveLength(1);
    for (const n of results[0]!.notes) console.log(n);
    // The tokens each side generated, as the bench logged them: equal to each other and to the PyTorch fixture.
    const tokens = (who: string) =>
      lines
        .find((l) => l.startsWith(`${who}:`))
        ?.split(':')[1]
        ?.trim()
        .split(',')
        .map(Number);
    const fixture = (fixtures.greedy as { name: string; generated_ids: number[] }[]).find((g) => g.name === 'plain')!;
    const engine = tokens('engine');
    expect(engine?.length).toBeGreaterThan(1);
    expect(tokens('ORT loop')).toEqual(engine);
    expect(tokens('transformers.js')).toEqual(engine);
    expect(engine).toEqual(fixture.generated_ids.slice(0, engine!.length));
    expect(results[0]!.notes.some((n) => n.startsWith('decode speed ratio engine / transformers.js'))).toBe(true);
  },
  600_000,
);
