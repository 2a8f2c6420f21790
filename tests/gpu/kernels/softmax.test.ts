// softmax against its twin: row lengths around the workgroup size, logits far outside exp()'s f32 range, masked
// (−1e9) entries, constant rows; bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { softmax } from './support/softmax';
import { softmaxRef } from './support/softmax.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

const CASES = [
  { rows: 1, dim: 64, lo: -5, hi: 5 },
  { rows: 5, dim: 100, lo: -5, hi: 5 },
  { rows: 67, dim: 300, lo: -20, hi: 20 },
  { rows: 3, dim: 1000, lo: 50, hi: 200 }, // exp(200) overflows f32 without the max shift
  { rows: 4, dim: 1, lo: -3, hi: 3 }, // a single element: exactly 1
];

describe('softmax', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  async function run(x: Float32Array, rows: number, dim: number): Promise<Float32Array> {
    const out = bufs.empty(rows * dim * 4);
    runBatch(device, (b) => softmax(b, { x: bufs.upload(x), out, rows, dim }));
    return readF32(device, out, rows * dim);
  }

  it.each(CASES)('matches its twin for $rows × $dim, logits in [$lo, $hi)', async ({ rows, dim, lo, hi }) => {
    const x = randomF32(rows * dim, rows + dim, lo, hi);
    const got = await run(x, rows, dim);
    expectClose(got, softmaxRef({ x, rows, dim }));
    for (let r = 0; r < rows; r++) {
      const s = got.subarray(r * dim, (r + 1) * dim).reduce((a, v) => a + v, 0);
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    }
  });

  it('gives masked (−1e9) entries exactly 0 and a constant row the uniform distribution', async () => {
    const dim = 300;
    const x = randomF32(2 * dim, 9, -4, 4);
    for (let i = 0; i < dim; i += 3) x[i] = -1e9;
    x.fill(7, dim);
    const got = await run(x, 2, dim);
    expectClose(got, softmaxRef({ x, rows: 2, dim }));
    for (let i = 0; i < dim; i += 3) expect(got[i]).toBe(0);
    expectClose(got.subarray(dim), new Float32Array(dim).fill(1 / dim), 1e-6);
  });

  const bad: [string, () => Parameters<typeof softmax>[1], string][] = [
    [
      'out too small',
      () => ({ x: bufs.empty(128), out: bufs.empty(64), rows: 2, dim: 16 }),
      'softmax: out holds 64 bytes but 128 are needed',
    ],
    [
      'out aliasing x',
      () => {
        const x = bufs.empty(128);
        return { x, out: x, rows: 2, dim: 16 };
      },
      'softmax: out must not alias x',
    ],
    [
      'fractional rows',
      () => ({ x: bufs.empty(128), out: bufs.empty(128), rows: 1.5, dim: 16 }),
      'softmax: rows must be a positive integer, got 1.5',
    ],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const args = make();
    expect(() => softmax(new GpuBatch(device), args)).toThrow(KernelArgError);
    expect(() => softmax(new GpuBatch(device), args)).toThrow(message);
  });
});
