// gelu against its twin (both forms), the twin against PyTorch's values, extreme inputs, bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { gelu, type GeluApproximate } from './support/gelu';
import { geluErf, geluTanh } from '../../../src/kernels/gelu_fns.ref';
import { geluRef } from './support/gelu.ref';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';

/** x, F.gelu(x), F.gelu(x, approximate='tanh') in f64 (Python math.erf / math.tanh). */
const TORCH: [number, number, number][] = [
  [-3, -0.00404969409489031, -0.0036373920817729943],
  [-1, -0.15865525393145707, -0.15880800939172324],
  [-0.5, -0.15426876936299344, -0.15428599017485606],
  [0.5, 0.34573123063700656, 0.34571400982514394],
  [1, 0.8413447460685429, 0.8411919906082768],
  [2, 1.9544997361036416, 1.954597694087775],
  [5, 4.999998566742141, 4.999999770820381],
];

const EXTREMES = new Float32Array([0, -0, 1e-7, -1e-7, 10, -10, 14, -14, 30, -30, 100, -100, 1e30, -1e30]);

describe('gelu', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  async function run(x: Float32Array, approximate: GeluApproximate): Promise<Float32Array> {
    const out = bufs.empty(x.length * 4);
    runBatch(device, (b) => gelu(b, { x: bufs.upload(x), out, n: x.length, approximate }));
    return readF32(device, out, x.length);
  }

  it('its twin agrees with PyTorch to 2e-7 relative (erf) and 1e-12 (tanh)', () => {
    for (const [x, e, t] of TORCH) {
      expect(Math.abs(geluErf(x) - e)).toBeLessThanOrEqual(2e-7 * Math.abs(e));
      expect(Math.abs(geluTanh(x) - t)).toBeLessThanOrEqual(1e-12 * Math.abs(t));
    }
  });

  for (const approximate of ['none', 'tanh'] as const) {
    for (const n of [1, 1000, 70_000]) {
      it(`matches its twin, approximate '${approximate}', n = ${n}`, async () => {
        const x = randomF32(n, n + (approximate === 'tanh' ? 1 : 0), -6, 6);
        expectClose(await run(x, approximate), geluRef({ x, approximate }));
      });
    }
    it(`stays finite and matches its twin at extreme inputs, approximate '${approximate}'`, async () => {
      const got = await run(EXTREMES, approximate);
      expect(got.every(Number.isFinite)).toBe(true);
      expectClose(got, geluRef({ x: EXTREMES, approximate }));
    });
  }

  const bad: [string, () => Parameters<typeof gelu>[1], string][] = [
    [
      'out too small',
      () => ({ x: bufs.empty(40), out: bufs.empty(36), n: 10 }),
      'gelu: out holds 36 bytes but 40 are needed',
    ],
    [
      'an unknown approximation',
      () => ({ x: bufs.empty(40), out: bufs.empty(40), n: 10, approximate: 'sigmoid' as GeluApproximate }),
      "gelu: approximate must be 'none' or 'tanh', got sigmoid",
    ],
    [
      'out aliasing x',
      () => {
        const x = bufs.empty(40);
        return { x, out: x, n: 10 };
      },
      'gelu: out must not alias x',
    ],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const args = make();
    expect(() => gelu(new GpuBatch(device), args)).toThrow(KernelArgError);
    expect(() => gelu(new GpuBatch(device), args)).toThrow(message);
  });
});
