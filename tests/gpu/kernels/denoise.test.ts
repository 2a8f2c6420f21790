// denoise: within 1e-6 absolute of the twin (which rounds each f32 operation in the kernel's order; a GPU may fuse
// a multiply-add, so bit equality is not promised), for the three ways of passing velocities.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { denoise, eulerDt, sigmas } from '../../../src/kernels/denoise';
import { denoiseRef } from '../../../src/kernels/denoise.ref';
import fixtures from '../../fixtures/tiny-random/fixtures.json';

const ATOL = 1e-6;

const cases = [
  { layout: 'split', n: 1, guidance: 3, dt: 0.25 },
  { layout: 'split', n: 1000, guidance: 7.5, dt: 0.05 },
  { layout: 'packed', n: 1027, guidance: 3, dt: Math.fround(0.4 - 0.1) },
  { layout: 'packed', n: 70_001, guidance: 1, dt: 0.125 },
  { layout: 'plain', n: 4 * 32 * 32 + 5, dt: 0.1 },
] as const;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('denoise', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it('makes the same sigmas and steps as the Python sampler', () => {
    expect(Array.from(sigmas(0, fixtures.imagine.steps))).toEqual(fixtures.imagine.sigmas);
    const t0 = Math.fround(1 - Math.fround(fixtures.edit.strength));
    expect(Array.from(sigmas(t0, fixtures.edit.steps))).toEqual(fixtures.edit.sigmas);
    expect(eulerDt(sigmas(0, 4), 1)).toBe(0.25);
  });

  for (const c of cases) {
    it(`matches its twin: ${c.layout}, n = ${c.n}, g = ${'guidance' in c ? c.guidance : '-'}`, async () => {
      const z = randomF32(c.n, 1, -3, 3);
      const vc = randomF32(c.n, 2, -2, 2);
      const vu = randomF32(c.n, 3, -2, 2);
      const zBuf = bufs.upload(z);
      runBatch(device, (b) => {
        if (c.layout === 'split')
          denoise(b, {
            z: zBuf,
            n: c.n,
            dt: c.dt,
            guidance: c.guidance,
            vCond: bufs.upload(vc),
            vUncond: bufs.upload(vu),
          });
        else if (c.layout === 'packed') {
          const both = new Float32Array(2 * c.n);
          both.set(vc);
          both.set(vu, c.n);
          denoise(b, { z: zBuf, n: c.n, dt: c.dt, guidance: c.guidance, velocity: bufs.upload(both) });
        } else denoise(b, { z: zBuf, n: c.n, dt: c.dt, velocity: bufs.upload(vc) });
      });
      const want = denoiseRef({
        z,
        dt: c.dt,
        vCond: vc,
        ...(c.layout === 'plain' ? {} : { vUncond: vu, guidance: c.guidance }),
      });
      const diff = maxAbsDiff(await readF32(device, zBuf, c.n), want);
      console.info(`denoise ${c.layout} n=${c.n}: max |gpu - twin| = ${diff}`);
      expect(diff).toBeLessThanOrEqual(ATOL);
    });
  }

  it('rejects bad arguments before dispatching', () => {
    const small = bufs.empty(40);
    const big = bufs.empty(80);
    const b = new GpuBatch(device);
    expect(() => denoise(b, { z: small, n: 11, dt: 0.1, velocity: big })).toThrow(KernelArgError);
    expect(() => denoise(b, { z: small, n: 11, dt: 0.1, velocity: big })).toThrow(
      'denoise: z holds 40 bytes but 44 are needed',
    );
    expect(() => denoise(b, { z: small, n: 10, dt: 0.1, guidance: 3, velocity: small })).toThrow(
      'denoise: velocity holds 40 bytes but 80 are needed',
    );
    expect(() => denoise(b, { z: small, n: 10, dt: 0.1, guidance: 3, vCond: big, vUncond: bufs.empty(36) })).toThrow(
      'denoise: vUncond holds 36 bytes but 40 are needed',
    );
    expect(() => denoise(b, { z: small, n: 10, dt: 0.1, guidance: 3, vCond: big })).toThrow(
      'denoise: pass either velocity or both vCond and vUncond',
    );
    expect(() => denoise(b, { z: small, n: 10, dt: 0.1, vCond: big, vUncond: big })).toThrow(
      'denoise: vCond and vUncond need a guidance scale',
    );
    expect(() => denoise(b, { z: small, n: 10, dt: Number.NaN, velocity: big })).toThrow(
      'denoise: dt must be finite, got NaN',
    );
  });
});
