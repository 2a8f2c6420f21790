import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, runBatch } from '../../helpers/gpu';
import { fill } from '../../../src/kernels/fill';
import { fillRef } from '../../../src/kernels/fill.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

describe('fill', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const n of [1, 255, 257, 70_000]) {
    it(`matches its twin for n = ${n}`, async () => {
      const out = bufs.empty(n * 4);
      runBatch(device, (b) => fill(b, { out, n, a: 0.25, b: 3 }));
      expect(Array.from(await readF32(device, out, n))).toEqual(Array.from(fillRef({ n, a: 0.25, b: 3 })));
    });
  }

  it('rejects a buffer that is too small before dispatching', () => {
    const out = bufs.empty(16);
    const batch = new GpuBatch(device);
    expect(() => fill(batch, { out, n: 5, a: 1, b: 0 })).toThrow(KernelArgError);
    expect(() => fill(batch, { out, n: 5, a: 1, b: 0 })).toThrow('fill: out holds 16 bytes but 20 are needed');
  });
});
