// layernorm against its twin: with and without affine weight / bias, row lengths around the workgroup size, a
// large common offset (the two-pass variance), bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { layernorm, type LayernormArgs } from '../../../src/kernels/layernorm';
import { layernormRef } from '../../../src/kernels/layernorm.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

const CASES = [
  { rows: 1, dim: 64, weight: true, bias: true, offset: 0 },
  { rows: 5, dim: 100, weight: true, bias: false, offset: 0 },
  { rows: 67, dim: 300, weight: false, bias: true, offset: 0 },
  { rows: 3, dim: 1000, weight: false, bias: false, offset: 0 },
  { rows: 7, dim: 257, weight: true, bias: true, offset: 50 }, // mean ≫ spread: E[x²] − μ² would lose digits
  { rows: 2, dim: 1, weight: true, bias: true, offset: 0 }, // zero variance: (x − μ) = 0, out = bias
];

describe('layernorm', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it.each(CASES)('matches its twin for $rows × $dim (weight $weight, bias $bias, offset $offset)', async (c) => {
    const { rows, dim } = c;
    const eps = 1e-5;
    const x = randomF32(rows * dim, rows * 31 + dim, c.offset - 1, c.offset + 1);
    const weight = c.weight ? randomF32(dim, dim + 1, 0.5, 1.5) : undefined;
    const bias = c.bias ? randomF32(dim, dim + 2) : undefined;
    const out = bufs.empty(rows * dim * 4);
    const args: LayernormArgs = { x: bufs.upload(x), out, rows, dim, eps };
    if (weight) args.weight = bufs.upload(weight);
    if (bias) args.bias = bufs.upload(bias);
    runBatch(device, (b) => layernorm(b, args));
    expectClose(await readF32(device, out, rows * dim), layernormRef({ x, weight, bias, rows, dim, eps }));
  });

  const bad: [string, () => LayernormArgs, string][] = [
    [
      'x too small',
      () => ({ x: bufs.empty(16), out: bufs.empty(128), rows: 2, dim: 16, eps: 1e-5 }),
      'layernorm: x holds 16 bytes but 128 are needed',
    ],
    [
      'bias too small',
      () => ({ x: bufs.empty(128), bias: bufs.empty(16), out: bufs.empty(128), rows: 2, dim: 16, eps: 1e-5 }),
      'layernorm: bias holds 16 bytes but 64 are needed',
    ],
    [
      'out aliasing x',
      () => {
        const x = bufs.empty(128);
        return { x, out: x, rows: 2, dim: 16, eps: 1e-5 };
      },
      'layernorm: out must not alias x',
    ],
    [
      'NaN eps',
      () => ({ x: bufs.empty(128), out: bufs.empty(128), rows: 2, dim: 16, eps: NaN }),
      'layernorm: eps must be a finite non-negative number, got NaN',
    ],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const args = make();
    expect(() => layernorm(new GpuBatch(device), args)).toThrow(KernelArgError);
    expect(() => layernorm(new GpuBatch(device), args)).toThrow(message);
  });
});
