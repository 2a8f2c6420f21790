// assemble_step against its twin: one and two branches, every step row of temb, sizes past one workgroup, bad
// arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { assembleStep, type AssembleStepArgs } from '../../../src/kernels/assemble_step';
import { assembleStepRef } from '../../../src/kernels/assemble_step.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

const CASES = [
  { B: 1, N: 4, D: 8, steps: 1, tembRow: 0 },
  { B: 2, N: 16, D: 64, steps: 5, tembRow: 3 },
  { B: 2, N: 64, D: 96, steps: 30, tembRow: 29 },
  { B: 1, N: 3, D: 5, steps: 2, tembRow: 1 },
];

describe('assemble_step', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it.each(CASES)('is bit-identical to its twin for B $B, N $N, D $D, step $tembRow', async (c) => {
    const { B, N, D, steps, tembRow } = c;
    const seed = B * 1000 + N * 10 + D;
    const temb = randomF32(steps * D, seed, -2, 2);
    const xEmb = randomF32(N * D, seed + 1, -2, 2);
    const pos = randomF32(N * D, seed + 2, -1, 1);
    const n = B * (N + 1) * D;
    const out = bufs.empty(n * 4);
    const inputs = { temb: bufs.upload(temb), xEmb: bufs.upload(xEmb), pos: bufs.upload(pos) };
    runBatch(device, (b) => assembleStep(b, { ...inputs, tembRow, out, B, N, D }));
    const want = assembleStepRef({ temb, tembRow, xEmb, pos, B, N, D });
    expect(Array.from(await readF32(device, out, n))).toEqual(Array.from(want));
  });

  const args = (over: Partial<AssembleStepArgs>): AssembleStepArgs => ({
    temb: bufs.empty(3 * 8 * 4),
    tembRow: 0,
    xEmb: bufs.empty(4 * 8 * 4),
    pos: bufs.empty(4 * 8 * 4),
    out: bufs.empty(2 * 5 * 8 * 4),
    B: 2,
    N: 4,
    D: 8,
    ...over,
  });
  const aliased = (): AssembleStepArgs => {
    const x = bufs.empty(320);
    return args({ xEmb: x, out: x });
  };
  const bad: [string, () => AssembleStepArgs, string][] = [
    ['a temb row past the table', () => args({ tembRow: 3 }), 'assemble_step: temb holds 96 bytes but 128 are needed'],
    ['out too small', () => args({ out: bufs.empty(200) }), 'assemble_step: out holds 200 bytes but 320 are needed'],
    ['out aliasing xEmb', () => aliased(), 'assemble_step: out must not alias an input'],
    ['N = 0', () => args({ N: 0 }), 'assemble_step: N must be a positive integer, got 0'],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const a = make();
    expect(() => assembleStep(new GpuBatch(device), a)).toThrow(KernelArgError);
    expect(() => assembleStep(new GpuBatch(device), a)).toThrow(message);
  });
});
