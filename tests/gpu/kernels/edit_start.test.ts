// edit_start against its twin: start times across [0, 1), sizes around the workgroup size, z updated in place and
// mean untouched, bad arguments. The GPU may fuse a multiply-add where the twin rounds twice, hence 1e-6.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { editStart, type EditStartArgs } from '../../../src/kernels/edit_start';
import { editStartRef } from '../../../src/kernels/edit_start.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

const CASES = [
  { n: 1, scale: 0.3611, shift: 0.1159, t0: 0 },
  { n: 257, scale: 1.5305, shift: 0.0609, t0: 0.25 },
  { n: 4 * 32 * 32, scale: 0.18215, shift: 0, t0: 0.6 },
  { n: 70_000, scale: 2, shift: -1, t0: 0.999 },
];

describe('edit_start', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it.each(CASES)('matches its twin for n $n, t0 $t0', async ({ n, scale, shift, t0 }) => {
    const mean = randomF32(n, n + 5, -3, 3);
    const z = randomF32(n, n + 6, -3, 3);
    const gMean = bufs.upload(mean);
    const gz = bufs.upload(z);
    runBatch(device, (b) => editStart(b, { mean: gMean, z: gz, n, scale, shift, t0 }));
    expectClose(await readF32(device, gz, n), editStartRef({ mean, z, scale, shift, t0 }), 1e-6, 1e-6);
    expect(Array.from(await readF32(device, gMean, n))).toEqual(Array.from(mean));
  });

  it('keeps the noise at t0 = 0 and its shifted, scaled mean alone as t0 → 1', async () => {
    const mean = new Float32Array([1, 2, 3]);
    const z = new Float32Array([5, -5, 0.5]);
    const gz = bufs.upload(z);
    runBatch(device, (b) => editStart(b, { mean: bufs.upload(mean), z: gz, n: 3, scale: 2, shift: 1, t0: 0 }));
    expect(Array.from(await readF32(device, gz, 3))).toEqual([5, -5, 0.5]);
    const gz1 = bufs.upload(z);
    runBatch(device, (b) => editStart(b, { mean: bufs.upload(mean), z: gz1, n: 3, scale: 2, shift: 1, t0: 1 }));
    expect(Array.from(await readF32(device, gz1, 3))).toEqual([0, 2, 4]);
  });

  const args = (over: Partial<EditStartArgs>): EditStartArgs => ({
    mean: bufs.empty(40),
    z: bufs.empty(40),
    n: 10,
    scale: 1,
    shift: 0,
    t0: 0.5,
    ...over,
  });
  const aliased = (): EditStartArgs => {
    const z = bufs.empty(40);
    return args({ mean: z, z });
  };
  const bad: [string, () => EditStartArgs, string][] = [
    ['mean too small', () => args({ mean: bufs.empty(36) }), 'edit_start: mean holds 36 bytes but 40 are needed'],
    ['z aliasing mean', () => aliased(), 'edit_start: z must not alias mean'],
    ['t0 past 1', () => args({ t0: 1.5 }), 'edit_start: t0 must be in [0, 1], got 1.5'],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const a = make();
    expect(() => editStart(new GpuBatch(device), a)).toThrow(KernelArgError);
    expect(() => editStart(new GpuBatch(device), a)).toThrow(message);
  });
});
