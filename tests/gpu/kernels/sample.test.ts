// sample: the GPU must pick exactly the id its twin picks, for every seed. Cases are data: each draws `seeds`
// samples (seed = 1000 + i, step = 7 * i) in one batch, writing id i to out[i], and reads back once.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readU32, runBatch } from '../../helpers/gpu';
import { mulberry32, randomF32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { sample } from '../../../src/kernels/sample';
import { expq23, sampleRef, sortKey } from '../../../src/kernels/sample.ref';
import { mulhi32, philox4x32_10 } from '../../../src/kernels/philox';
import { SAMPLE_STREAM, sampleParams, type SampleSettings } from '../../../src/kernels/sample_params';

interface Case extends SampleSettings {
  name: string;
  vocab: number;
  rows?: number;
  row?: number;
  seeds: number;
  logits: (vocab: number, rows: number) => Float32Array;
}

/** Uniform logits in [-scale, scale), optionally rounded to multiples of `quantum` (many exact ties). */
function uniformLogits(seed: number, scale: number, quantum = 0) {
  return (vocab: number, rows: number) => {
    const x = randomF32(vocab * rows, seed, -scale, scale);
    if (quantum > 0) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i]! / quantum) * quantum;
    return x;
  };
}

/** `base` logits with a share of entries set to -Infinity (a masked vocabulary), NaN and +-0 sprinkled in. */
function maskedLogits(seed: number, scale: number, masked: number) {
  return (vocab: number, rows: number) => {
    const x = uniformLogits(seed, scale)(vocab, rows);
    const r = mulberry32(seed + 1);
    for (let i = 0; i < x.length; i++) {
      const u = r();
      if (u < masked) x[i] = -Infinity;
      else if (u < masked + 0.01) x[i] = Number.NaN;
      else if (u < masked + 0.02) x[i] = u < masked + 0.015 ? -0 : 0;
    }
    return x;
  };
}

const cases: Case[] = [
  { name: 'greedy, random', vocab: 1000, seeds: 4, logits: uniformLogits(1, 5) },
  {
    name: 'greedy, 8 tied maxima',
    vocab: 999,
    seeds: 4,
    logits: (v) => {
      const x = uniformLogits(2, 1)(v, 1);
      for (const i of [900, 17, 400, 17 + 256, 998, 3, 512, 700]) x[i] = 2;
      return x;
    },
  },
  { name: 'greedy, all -inf', vocab: 300, seeds: 2, logits: (v) => new Float32Array(v).fill(-Infinity) },
  {
    name: 'greedy, all NaN but one -inf-ish',
    vocab: 300,
    seeds: 2,
    logits: (v) => {
      const x = new Float32Array(v).fill(Number.NaN);
      x[123] = -3e38;
      return x;
    },
  },
  {
    name: 'greedy, -0 ties +0 (lowest id wins)',
    vocab: 10,
    seeds: 1,
    logits: () => new Float32Array([-1, -0, 0, -0, -2, 0, -5, -0, 0, -1]),
  },
  {
    name: 'greedy via topK 1 at temperature 1',
    vocab: 777,
    seeds: 4,
    temperature: 1,
    topK: 1,
    logits: uniformLogits(3, 5, 0.5),
  },
  { name: 'single-token vocabulary', vocab: 1, seeds: 8, temperature: 1, logits: () => new Float32Array([0.5]) },
  {
    name: 'temperature 1, flat (support > 256: radix select)',
    vocab: 1000,
    seeds: 100,
    temperature: 1,
    logits: uniformLogits(4, 3),
  },
  {
    name: 'temperature 0.7, peaked (support < 256)',
    vocab: 1000,
    seeds: 100,
    temperature: 0.7,
    logits: uniformLogits(5, 40),
  },
  {
    name: 'temperature 2, quantised logits (ties at the cut, id tie-break)',
    vocab: 1001,
    seeds: 100,
    temperature: 2,
    logits: uniformLogits(6, 4, 0.25),
  },
  { name: 'top-k 5', vocab: 500, seeds: 100, temperature: 1, topK: 5, logits: uniformLogits(7, 2) },
  {
    name: 'top-k 40, all logits tied',
    vocab: 333,
    seeds: 100,
    temperature: 1,
    topK: 40,
    logits: (v) => new Float32Array(v).fill(1.5),
  },
  {
    name: 'top-k 1000 (clamped to 256)',
    vocab: 2000,
    seeds: 100,
    temperature: 1.3,
    topK: 1000,
    logits: uniformLogits(8, 2),
  },
  { name: 'top-p 0.9', vocab: 1000, seeds: 100, temperature: 1, topP: 0.9, logits: uniformLogits(9, 6) },
  {
    name: 'top-p 0.5 with top-k 50',
    vocab: 1000,
    seeds: 100,
    temperature: 0.8,
    topK: 50,
    topP: 0.5,
    logits: uniformLogits(10, 4),
  },
  {
    name: 'top-p tiny (keeps one)',
    vocab: 100,
    seeds: 50,
    temperature: 1,
    topP: 1e-9,
    logits: uniformLogits(11, 1, 1),
  },
  {
    name: 'masked vocabulary (-inf, NaN, +-0)',
    vocab: 3000,
    seeds: 100,
    temperature: 1,
    topP: 0.95,
    logits: maskedLogits(12, 3, 0.8),
  },
  {
    name: '+inf logits share everything',
    vocab: 64,
    seeds: 50,
    temperature: 1,
    logits: (v) => {
      const x = uniformLogits(13, 1)(v, 1);
      x[5] = x[40] = x[63] = Infinity;
      return x;
    },
  },
  {
    name: 'last row of [3, V] logits',
    vocab: 513,
    rows: 3,
    row: 2,
    seeds: 100,
    temperature: 1,
    topK: 20,
    logits: uniformLogits(14, 3),
  },
  { name: 'vocabulary 151,936, flat', vocab: 151_936, seeds: 6, temperature: 1, logits: uniformLogits(15, 2) },
  {
    name: 'vocabulary 151,936, quantised, top-p 0.8',
    vocab: 151_936,
    seeds: 6,
    temperature: 0.9,
    topP: 0.8,
    logits: uniformLogits(16, 8, 0.5),
  },
];

/** The documented semantics again, written the slow obvious way (full sort), to check the twin's bounded heap. */
function naiveSample(logits: Float32Array, args: SampleSettings & { vocab: number; row?: number }): number {
  const sp = sampleParams('sample', args);
  const row = logits.subarray((args.row ?? 0) * args.vocab, ((args.row ?? 0) + 1) * args.vocab);
  const keys = Array.from(row, sortKey);
  const value = (k: number) =>
    new Float32Array(new Uint32Array([k & 0x80000000 ? (k ^ 0x80000000) >>> 0 : ~k >>> 0]).buffer)[0]!;
  const order = keys.map((_, j) => j).sort((a, b) => keys[b]! - keys[a]! || a - b);
  const km = keys[order[0]!]!;
  if (sp.greedy || km === sortKey(-Infinity)) return order[0]!;
  const y = (k: number) =>
    k === km
      ? 0
      : k <= sortKey(-Infinity) || km === sortKey(Infinity)
        ? -Infinity
        : Math.fround(Math.fround(value(k) - value(km)) * sp.s);
  const cands = order.filter((j) => y(keys[j]!) > -24).slice(0, sp.k);
  const cum: number[] = [];
  cands.forEach((j, i) => cum.push((cum[i - 1] ?? 0) + expq23(y(keys[j]!))));
  const total = cum[cum.length - 1]!;
  const thr = Math.max(1, Number((BigInt(sp.topPQ) * BigInt(total) + 0xffffffn) >> 24n));
  const kept = cum.find((c) => c >= thr)!;
  const goal = mulhi32(philox4x32_10([sp.step, 0, 0, SAMPLE_STREAM], [sp.seed, 0])[0]!, kept);
  return cands[cum.findIndex((c) => c > goal)]!;
}

describe('sample (CPU twin)', () => {
  it('equals the slow obvious implementation of its documented semantics', () => {
    for (const c of cases.filter((c) => c.vocab <= 3000)) {
      const x = c.logits(c.vocab, c.rows ?? 1);
      for (let i = 0; i < Math.min(c.seeds, 12); i++) {
        const settings = { ...c, seed: 1000 + i, step: 7 * i };
        expect(sampleRef(x, settings)).toBe(naiveSample(x, settings));
      }
    }
  });

  it('expq23 is round(2^23 * 2^y) within one unit', () => {
    const r = mulberry32(5);
    for (let i = 0; i < 40000; i++) {
      const y = Math.fround(i < 20000 ? -24 * r() : -r() * 2 ** (-20 * r()));
      expect(Math.abs(expq23(y) - 2 ** 23 * 2 ** y)).toBeLessThanOrEqual(1);
    }
    expect(expq23(0)).toBe(2 ** 23);
    expect(expq23(-24)).toBe(0);
  });

  it('orders keys like the logits, with NaN as -inf and -0 as +0', () => {
    const xs = [-Infinity, -3e38, -1, -1e-30, 0, 1e-30, 1, 3e38, Infinity];
    for (let i = 1; i < xs.length; i++) expect(sortKey(xs[i]!)).toBeGreaterThan(sortKey(xs[i - 1]!));
    expect(sortKey(Number.NaN)).toBe(sortKey(-Infinity));
    expect(sortKey(-0)).toBe(sortKey(0));
  });

  it('draws in proportion to softmax(logits / T)', () => {
    const logits = new Float32Array([2, 1, 0, -1, -30]);
    const counts = new Array(5).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleRef(logits, { vocab: 5, temperature: 1, seed: 3, step: i })]++;
    const z = logits.reduce((s, l) => s + Math.exp(l), 0);
    for (let i = 0; i < 5; i++) expect(Math.abs(counts[i] / n - Math.exp(logits[i]!) / z)).toBeLessThan(0.01);
  });
});

describe('sample (GPU)', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const c of cases) {
    it(`picks the twin's id for ${c.seeds} seeds: ${c.name}`, async () => {
      const rows = c.rows ?? 1;
      const x = c.logits(c.vocab, rows);
      const logits = bufs.upload(x);
      const out = bufs.upload(new Uint32Array(c.seeds).fill(0xdeadbeef));
      const settings = (i: number) => ({ ...c, seed: 1000 + i, step: 7 * i });
      runBatch(device, (b) => {
        for (let i = 0; i < c.seeds; i++) sample(b, { ...settings(i), logits, out, outIndex: i });
      });
      const got = Array.from(await readU32(device, out, c.seeds));
      const want = Array.from({ length: c.seeds }, (_, i) => sampleRef(x, settings(i)));
      expect(got).toEqual(want);
      if (c.seeds >= 50 && (c.temperature ?? 0) > 0 && c.topK !== 1 && c.topP !== 1e-9) {
        expect(new Set(want).size).toBeGreaterThan(1); // the case really samples
      }
    });
  }

  it('greedy settings (temperature 0, or top-k 1) run the argmax-only entry point; sampling the full kernel', () => {
    const seen: string[] = [];
    const fake = {
      device,
      pipeline: (key: string, _code: string, _c?: Record<string, number>, entry = 'main') => (
        seen.push(`${key} ${entry}`),
        {}
      ),
      uniform: () => bufs.empty(40),
      dispatch: () => {},
    } as unknown as GpuBatch;
    const logits = bufs.empty(400);
    const out = bufs.empty(4);
    sample(fake, { logits, out, vocab: 100 });
    sample(fake, { logits, out, vocab: 100, temperature: 1, topK: 1 });
    sample(fake, { logits, out, vocab: 100, temperature: 0.7, seed: 3 });
    expect(seen).toEqual(['sample:greedy greedy', 'sample:greedy greedy', 'sample main']);
  });

  it('rejects bad arguments before dispatching', () => {
    const logits = bufs.empty(400);
    const out = bufs.empty(4);
    const b = new GpuBatch(device);
    expect(() => sample(b, { logits, out, vocab: 101 })).toThrow(KernelArgError);
    expect(() => sample(b, { logits, out, vocab: 101 })).toThrow('sample: logits holds 400 bytes but 404 are needed');
    expect(() => sample(b, { logits, out, vocab: 50, row: 2 })).toThrow(
      'sample: logits holds 400 bytes but 600 are needed',
    );
    expect(() => sample(b, { logits, out, vocab: 100, outIndex: 1 })).toThrow(
      'sample: out holds 4 bytes but 8 are needed',
    );
    expect(() => sample(b, { logits, out, vocab: 100, temperature: -1 })).toThrow(
      'sample: temperature must be a finite number ≥ 0, got -1',
    );
    expect(() => sample(b, { logits, out, vocab: 100, temperature: 1e-45 })).toThrow(
      'sample: temperature 1e-45 is out of range',
    );
    expect(() => sample(b, { logits, out, vocab: 100, topP: 0 })).toThrow('sample: topP must be in (0, 1], got 0');
    expect(() => sample(b, { logits, out, vocab: 100, topK: 2.5 })).toThrow(
      'sample: topK must be a non-negative integer, got 2.5',
    );
    expect(() => sample(b, { logits, out, vocab: 100, seed: 2 ** 32 })).toThrow(
      'sample: seed must be a u32, got 4294967296',
    );
    expect(() => sample(b, { logits, out, vocab: 0 })).toThrow('sample: vocab must be a positive integer, got 0');
  });
});
