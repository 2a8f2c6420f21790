// rope: against the twin at 1e-4 relative (plus 1e-5 absolute near zero), plain and with LongRoPE's factors and
// cos/sin scale (one set, or one per sequence); the shared sin/cos snippet is also
// measured directly (head_dim 2, x = (1, 0) gives (cos pos, sin pos)) against float64 up to position 100,000.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { mulberry32, randomF32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { rope, ropeInvFreq } from '../../../src/kernels/rope';
import { ropeRef, type RopeRefArgs } from '../../../src/kernels/rope.ref';

interface Case extends RopeRefArgs {
  name: string;
  pos: (tokens: number) => Uint32Array;
}

const sequential = (t: number) => Uint32Array.from({ length: t }, (_, i) => i);
const randomPos = (max: number, seed: number) => (t: number) => {
  const r = mulberry32(seed);
  return Uint32Array.from({ length: t }, () => Math.floor(r() * max));
};

/** Positive per-frequency divisors in [1, 60), the span of Phi-3-128k's long factors. */
const factorSet = (half: number, seed: number) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: half }, () => 1 + 59 * r());
};

const cases: Case[] = [
  { name: 'prefill [5, 2, 64], positions 0..4', tokens: 5, heads: 2, headDim: 64, theta: 10000, pos: sequential },
  {
    name: '[7, 3, 32], random positions < 30000',
    tokens: 7,
    heads: 3,
    headDim: 32,
    theta: 10000,
    pos: randomPos(30000, 1),
  },
  {
    name: 'decode [1, 4, 128] at 4095, theta 1e6',
    tokens: 1,
    heads: 4,
    headDim: 128,
    theta: 1e6,
    pos: () => new Uint32Array([4095]),
  },
  {
    name: 'packed QKV rows: Q and K heads of [9, (4 + 2 + 2) x 16]',
    tokens: 9,
    heads: 6,
    headDim: 16,
    theta: 10000,
    rowStride: 128,
    pos: sequential,
  },
  {
    name: 'K heads only inside packed rows (offset 64)',
    tokens: 9,
    heads: 2,
    headDim: 16,
    theta: 10000,
    rowStride: 128,
    headOffset: 64,
    pos: randomPos(500, 2),
  },
  { name: '[300, 8, 64]', tokens: 300, heads: 8, headDim: 64, theta: 10000, pos: randomPos(8192, 3) },
  {
    name: 'LongRoPE: one factor set, scale 1.19, [6, 3, 32], positions < 10000',
    tokens: 6,
    heads: 3,
    headDim: 32,
    theta: 10000,
    factors: [factorSet(16, 4)],
    scale: 1.19,
    pos: randomPos(10000, 5),
  },
  {
    name: 'LongRoPE: a factor set per sequence (2 x 5 rows), packed QKV rows',
    tokens: 10,
    heads: 6,
    headDim: 16,
    theta: 10000,
    rowStride: 128,
    factors: [factorSet(8, 6), factorSet(8, 7)],
    scale: 1.05,
    pos: randomPos(300, 8),
  },
];

describe('rope', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it('computes inv_freq in PyTorch f32 steps', () => {
    const f = ropeInvFreq(32, 10000);
    expect(f[0]).toBe(1);
    expect(f[8]).toBe(Math.fround(1 / Math.fround(100)));
    expect(f.length).toBe(16);
  });

  for (const c of cases) {
    it(`matches its twin: ${c.name}`, async () => {
      const rowStride = c.rowStride ?? c.heads * c.headDim;
      const x = randomF32(c.tokens * rowStride, c.tokens * 31 + c.headDim);
      const pos = c.pos(c.tokens);
      const xBuf = bufs.upload(x);
      runBatch(device, (b) => rope(b, { ...c, x: xBuf, pos: bufs.upload(pos) }));
      expectClose(await readF32(device, xBuf, x.length), ropeRef(x, pos, c));
    });
  }

  it('with factors of 1 and scale 2 gives exactly twice plain RoPE (both cos and sin scaled)', async () => {
    const [tokens, heads, headDim] = [8, 3, 32];
    const x = randomF32(tokens * heads * headDim, 77);
    const pos = randomPos(5000, 9)(tokens);
    const plain = bufs.upload(x);
    const scaled = bufs.upload(x);
    const args = { pos: bufs.upload(pos), tokens, heads, headDim, theta: 10000 };
    runBatch(device, (b) => rope(b, { ...args, x: plain }));
    runBatch(device, (b) => rope(b, { ...args, x: scaled, factors: [new Float32Array(16).fill(1)], scale: 2 }));
    const twice = (await readF32(device, plain, x.length)).map((v) => 2 * v);
    expect(await readF32(device, scaled, x.length)).toEqual(twice);
  });

  it('rotates by sin/cos within 2e-7 of float64 for positions up to 100,000', async () => {
    const n = 4096;
    const pos = Uint32Array.from({ length: n }, (_, i) => (i < 2048 ? i : Math.floor(((i - 2048) / 2048) * 100_000)));
    const x = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) x[2 * i] = 1;
    const xBuf = bufs.upload(x);
    runBatch(device, (b) => rope(b, { x: xBuf, pos: bufs.upload(pos), tokens: n, heads: 1, headDim: 2, theta: 10000 }));
    const got = await readF32(device, xBuf, 2 * n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(got[2 * i]! - Math.cos(pos[i]!)), Math.abs(got[2 * i + 1]! - Math.sin(pos[i]!)));
    }
    console.info(`rope sin/cos: max abs error ${worst.toExponential(2)} for angles up to 1e5`);
    expect(worst).toBeLessThanOrEqual(2e-7);
  });

  it('rejects bad arguments before dispatching', () => {
    const x = bufs.empty(4 * 64);
    const pos = bufs.empty(8);
    const b = new GpuBatch(device);
    const ok = { x, pos, tokens: 2, heads: 2, headDim: 16, theta: 10000 };
    expect(() => rope(b, { ...ok, tokens: 3 })).toThrow(KernelArgError);
    expect(() => rope(b, { ...ok, tokens: 3 })).toThrow('rope: x holds 256 bytes but 384 are needed');
    expect(() => rope(b, { ...ok, pos: bufs.empty(4) })).toThrow('rope: pos holds 4 bytes but 8 are needed');
    expect(() => rope(b, { ...ok, headDim: 15 })).toThrow('rope: headDim must be even, got 15');
    expect(() => rope(b, { ...ok, rowStride: 30 })).toThrow(
      'rope: heads 2 x headDim 16 from offset 0 do not fit in rowStride 30',
    );
    expect(() => rope(b, { ...ok, theta: 0 })).toThrow('rope: theta must be a positive number, got 0');
    const f8 = new Float32Array(8).fill(2);
    expect(() => rope(b, { ...ok, factors: [new Float32Array(7).fill(2)] })).toThrow(
      'rope: factors[0] holds 7 values but headDim / 2 = 8 are needed',
    );
    expect(() => rope(b, { ...ok, factors: [f8, Float32Array.from(f8, (v, i) => (i === 3 ? 0 : v))] })).toThrow(
      'rope: factors[1][3] must be a positive number, got 0',
    );
    expect(() => rope(b, { ...ok, factors: [f8, f8, f8] })).toThrow('rope: 3 factor sets do not divide 2 tokens');
    expect(() => rope(b, { ...ok, scale: Number.NaN })).toThrow('rope: scale must be a positive number, got NaN');
  });
});
