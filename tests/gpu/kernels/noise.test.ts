// noise and the shared Philox: the integer stream is compared bit for bit (GPU vs TS twin vs the Random123 known
// answers vs the Python twin's saved words); the normals within 2e-6 absolute, because the GPU evaluates
// Box-Muller in f32 with its own log/sin/cos polynomials while the twins use float64 (rounding differs, nothing else).
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, readU32, runBatch } from '../../helpers/gpu';
import { mulberry32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { noise } from '../../../src/kernels/noise';
import { noiseRef, noiseWordsRef } from '../../../src/kernels/noise.ref';
import { mulhi32, philox4x32_10, philoxUniform } from '../../../src/kernels/philox';
import { philoxBlocks } from './support/philox_blocks';
import { philoxBlocksRef } from './support/philox_blocks.ref';
import fixtures from '../../fixtures/tiny-random/fixtures.json';
import imagineLatentsUrl from '../../fixtures/tiny-random/imagine_latents.bin?url';

const NORMAL_ATOL = 2e-6;

/** Random123 known-answer tests for philox4x32-10: counter, key, expected output. */
const KNOWN_ANSWERS: Array<[number[], number[], number[]]> = [
  [
    [0, 0, 0, 0],
    [0, 0],
    [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
  ],
  [
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    [0xffffffff, 0xffffffff],
    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  ],
  [
    [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    [0xa4093822, 0x299f31d0],
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  ],
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('philox (TypeScript twin)', () => {
  it('mulhi32 equals the BigInt product for edge and random operands', () => {
    const r = mulberry32(1);
    const xs = [0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    for (let i = 0; i < 2000; i++) xs.push(Math.floor(r() * 2 ** 32));
    for (const a of xs) {
      for (const b of [0xd2511f53, 0xcd9e8d57, xs[(a >>> 3) % xs.length]!]) {
        expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
      }
    }
  });

  it('gives the Random123 known answers', () => {
    for (const [ctr, key, want] of KNOWN_ANSWERS) expect(Array.from(philox4x32_10(ctr, key))).toEqual(want);
  });

  it('gives the words and normals the Python twin saved for seed 42 (and seed 7)', () => {
    expect(Array.from(noiseWordsRef({ count: 16, seed: fixtures.noise.seed }))).toEqual(fixtures.noise.first16_words);
    expect(Array.from(noiseRef({ count: 16, seed: fixtures.noise.seed }))).toEqual(
      fixtures.noise.first16.map(Math.fround),
    );
    expect(Array.from(noiseRef({ count: 4, seed: 7 }))).toEqual(fixtures.noise.seed_7_first4.map(Math.fround));
  });

  it('rounds the uniforms as numpy does (f64 value cast to f32, half to even)', () => {
    for (const r of [
      0, 0xff, 0x100, 0x7fffff00, 0x80000000, 0x80000100, 0xfffffe00, 0xfffffeff, 0xffffff00, 0xffffffff,
    ]) {
      expect(philoxUniform(r)).toBe(Math.fround(((r >>> 8) + 0.5) * 2 ** -24));
    }
    expect(philoxUniform(0)).toBe(2 ** -25);
    expect(philoxUniform(0xffffffff)).toBe(1);
  });
});

describe('noise (GPU)', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it('runs the shared WGSL Philox bit-exactly: known answers and 5000 random counters and keys', async () => {
    const r = mulberry32(2);
    const n = KNOWN_ANSWERS.length + 5000;
    const blocks = new Uint32Array(n * 6);
    KNOWN_ANSWERS.forEach(([c, k], i) => blocks.set([...c, ...k], 6 * i));
    for (let i = KNOWN_ANSWERS.length * 6; i < blocks.length; i++) blocks[i] = Math.floor(r() * 2 ** 32);
    const out = bufs.empty(n * 16);
    runBatch(device, (b) => philoxBlocks(b, { blocks: bufs.upload(blocks), out, n }));
    const got = await readU32(device, out, n * 4);
    expect(Array.from(got.subarray(0, 12))).toEqual(KNOWN_ANSWERS.flatMap(([, , w]) => w));
    expect(got).toEqual(philoxBlocksRef(blocks));
  });

  const wordCases = [
    { seed: 42, count: 16 },
    { seed: 0, count: 4099 },
    { seed: 0xffffffff, count: 1001, batch: 3 },
    { seed: 123456789, count: 70_001 },
  ];
  for (const c of wordCases) {
    const title = `writes the same Philox words as the twin: seed ${c.seed}, count ${c.count}, batch ${c.batch ?? 1}`;
    it(title, async () => {
      const total = c.count * (c.batch ?? 1);
      const out = bufs.empty(total * 4);
      runBatch(device, (b) => noise(b, { out, ...c, words: true }));
      expect(await readU32(device, out, total)).toEqual(noiseWordsRef(c));
    });
  }

  it('matches the Python twin: the saved first 16 words and normals of seed 42', async () => {
    const out = bufs.empty(16 * 4);
    const words = bufs.empty(16 * 4);
    runBatch(device, (b) => {
      noise(b, { out, count: 16, seed: 42 });
      noise(b, { out: words, count: 16, seed: 42, words: true });
    });
    expect(Array.from(await readU32(device, words, 16))).toEqual(fixtures.noise.first16_words);
    expect(maxAbsDiff(await readF32(device, out, 16), fixtures.noise.first16)).toBeLessThanOrEqual(NORMAL_ATOL);
  });

  it('matches the Python twin: z_0 of the Imagine fixture (1x4x16x16, seed 42)', async () => {
    const z0 = new Float32Array(await (await fetch(imagineLatentsUrl)).arrayBuffer(), 0, 1024);
    const out = bufs.empty(1024 * 4);
    runBatch(device, (b) => noise(b, { out, count: 1024, seed: fixtures.imagine.seed }));
    expect(maxAbsDiff(await readF32(device, out, 1024), z0)).toBeLessThanOrEqual(NORMAL_ATOL);
    expect(maxAbsDiff(noiseRef({ count: 1024, seed: fixtures.imagine.seed }), z0)).toBeLessThanOrEqual(2 ** -22);
  });

  const normalCases = [
    { seed: 7, count: 5 },
    { seed: 2024, count: 65_537 },
    { seed: 0xfffffffe, count: 333, batch: 4, outOffset: 10 },
  ];
  for (const c of normalCases) {
    const title =
      `writes normals within ${NORMAL_ATOL} of the float64 twin: ` +
      `seed ${c.seed}, count ${c.count}, batch ${c.batch ?? 1}, offset ${c.outOffset ?? 0}`;
    it(title, async () => {
      const offset = c.outOffset ?? 0;
      const total = c.count * (c.batch ?? 1);
      const out = bufs.upload(new Float32Array(offset + total + 3).fill(-7));
      runBatch(device, (b) => noise(b, { out, ...c }));
      const got = await readF32(device, out, offset + total + 3);
      const want = noiseRef(c);
      const diff = maxAbsDiff(got.subarray(offset, offset + total), want);
      console.info(`noise seed ${c.seed} count ${total}: max |gpu - f64 twin| = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(NORMAL_ATOL);
      expect(Array.from(got.subarray(0, offset))).toEqual(new Array(offset).fill(-7));
      expect(Array.from(got.subarray(offset + total))).toEqual([-7, -7, -7]);
    });
  }

  it('has standard-normal moments over 65536 samples', async () => {
    const n = 65536;
    const out = bufs.empty(n * 4);
    runBatch(device, (b) => noise(b, { out, count: n, seed: 99 }));
    const x = await readF32(device, out, n);
    const mean = x.reduce((s, v) => s + v, 0) / n;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  it('rejects bad arguments before dispatching', () => {
    const out = bufs.empty(64);
    const batch = new GpuBatch(device);
    expect(() => noise(batch, { out, count: 17, seed: 1 })).toThrow(KernelArgError);
    expect(() => noise(batch, { out, count: 17, seed: 1 })).toThrow('noise: out holds 64 bytes but 68 are needed');
    expect(() => noise(batch, { out, count: 8, seed: 1, batch: 2, outOffset: 1 })).toThrow(
      'noise: out holds 64 bytes but 68 are needed',
    );
    expect(() => noise(batch, { out, count: 4, seed: -1 })).toThrow('noise: seed must be a u32, got -1');
    expect(() => noise(batch, { out, count: 4, seed: 2 ** 32 })).toThrow('noise: seed must be a u32, got 4294967296');
    expect(() => noise(batch, { out, count: 0, seed: 1 })).toThrow('noise: count must be a positive integer, got 0');
    expect(() => philoxBlocks(batch, { blocks: out, out, n: 3 })).toThrow(
      'philox_blocks: blocks holds 64 bytes but 72 are needed',
    );
  });
});
