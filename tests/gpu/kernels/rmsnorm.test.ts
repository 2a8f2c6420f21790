// rmsnorm against its twin: row lengths below, at and above the workgroup size, many rows (folded dispatch), eps.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { rmsnorm } from '../../../src/kernels/rmsnorm';
import { rmsnormRef } from '../../../src/kernels/rmsnorm.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

const CASES = [
  { rows: 1, dim: 64, eps: 1e-6 },
  { rows: 5, dim: 100, eps: 1e-5 },
  { rows: 67, dim: 300, eps: 1e-6 },
  { rows: 3, dim: 1000, eps: 1e-6 },
  { rows: 4, dim: 1, eps: 1e-5 },
];

describe('rmsnorm', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it.each(CASES)('matches its twin for $rows × $dim, eps $eps', async ({ rows, dim, eps }) => {
    const x = randomF32(rows * dim, rows + dim, -2, 2);
    const weight = randomF32(dim, dim, 0.5, 1.5);
    const out = bufs.empty(rows * dim * 4);
    runBatch(device, (b) => rmsnorm(b, { x: bufs.upload(x), weight: bufs.upload(weight), out, rows, dim, eps }));
    expectClose(await readF32(device, out, rows * dim), rmsnormRef({ x, weight, rows, dim, eps }));
  });

  it('keeps an all-zero row at zero (eps guards the division)', async () => {
    const out = bufs.empty(64 * 4);
    runBatch(device, (b) =>
      rmsnorm(b, {
        x: bufs.upload(new Float32Array(64)),
        weight: bufs.upload(new Float32Array(64).fill(1)),
        out,
        rows: 1,
        dim: 64,
        eps: 1e-6,
      }),
    );
    expect(Array.from(await readF32(device, out, 64)).every((v) => v === 0)).toBe(true);
  });

  const bad: [string, () => Parameters<typeof rmsnorm>[1], string][] = [
    [
      'x too small',
      () => ({ x: bufs.empty(16), weight: bufs.empty(64), out: bufs.empty(128), rows: 2, dim: 16, eps: 1e-6 }),
      'rmsnorm: x holds 16 bytes but 128 are needed',
    ],
    [
      'weight too small',
      () => ({ x: bufs.empty(128), weight: bufs.empty(32), out: bufs.empty(128), rows: 2, dim: 16, eps: 1e-6 }),
      'rmsnorm: weight holds 32 bytes but 64 are needed',
    ],
    [
      'out aliasing x',
      () => {
        const x = bufs.empty(128);
        return { x, weight: bufs.empty(64), out: x, rows: 2, dim: 16, eps: 1e-6 };
      },
      'rmsnorm: out must not alias x',
    ],
    [
      'negative eps',
      () => ({ x: bufs.empty(128), weight: bufs.empty(64), out: bufs.empty(128), rows: 2, dim: 16, eps: -1 }),
      'rmsnorm: eps must be a finite non-negative number, got -1',
    ],
    [
      'dim 0',
      () => ({ x: bufs.empty(128), weight: bufs.empty(64), out: bufs.empty(128), rows: 2, dim: 0, eps: 1e-6 }),
      'rmsnorm: dim must be a positive integer, got 0',
    ],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const args = make();
    expect(() => rmsnorm(new GpuBatch(device), args)).toThrow(KernelArgError);
    expect(() => rmsnorm(new GpuBatch(device), args)).toThrow(message);
  });
});
