// timestep: against the twin at 1e-4 relative (1e-5 absolute near zero), and against the PyTorch painter's own
// frequency embedding of t = 0.3 saved in the tiny-random fixtures. PyTorch's f32 exp is not correctly rounded
// (about a third of its 128 frequencies differ from the correctly rounded value by 1 ulp), and an argument of up to
// 300 rad turns one ulp of a frequency into up to ~2e-5 of sin/cos, so that comparison allows 5e-5 absolute.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { timestep } from './support/timestep';
import { timestepTable } from '../../../src/models/painter/tables';
import fixtures from '../../fixtures/tiny-random/fixtures.json';
import freqUrl from '../../fixtures/tiny-random/painter_timestep_freq.bin?url';

const PAINTER = { dim: 256, scale: 1000, maxPeriod: 10000 };
/** The tiny-random painter: OmniGen feeds t in [0, 1] unscaled. */
const OMNIGEN = { ...PAINTER, scale: 1 };

const cases = [
  { name: 'one t = 0', t: new Float32Array([0]), ...PAINTER },
  { name: 'sigmas of a 4-step Imagine', t: new Float32Array([0, 0.25, 0.5, 0.75]), ...PAINTER },
  { name: '37 random t in [0, 1]', t: randomF32(37, 5, 0, 1), ...PAINTER },
  { name: 'dim 6, scale 1, period 100', t: new Float32Array([0.1, 0.9, 1]), dim: 6, scale: 1, maxPeriod: 100 },
];

describe('timestep', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const c of cases) {
    it(`matches its twin: ${c.name}`, async () => {
      const out = bufs.empty(c.t.length * c.dim * 4);
      runBatch(device, (b) => timestep(b, { ...c, t: bufs.upload(c.t), out, batch: c.t.length }));
      expectClose(await readF32(device, out, c.t.length * c.dim), timestepTable(c.t, c));
    });
  }

  it("matches the PyTorch painter (fixture timestep_freq, t = 0.3, OmniGen's unscaled t)", async () => {
    const want = new Float32Array(await (await fetch(freqUrl)).arrayBuffer());
    const t = new Float32Array([fixtures.painter.timestep]);
    const out = bufs.empty(256 * 4);
    runBatch(device, (b) => timestep(b, { t: bufs.upload(t), out, batch: 1, ...OMNIGEN }));
    expectClose(await readF32(device, out, 256), want, 0, 5e-5);
    expectClose(timestepTable(t, OMNIGEN), want, 0, 5e-5);
  });

  it('rejects bad arguments before dispatching', () => {
    const t = bufs.empty(8);
    const out = bufs.empty(1024);
    const b = new GpuBatch(device);
    expect(() => timestep(b, { t, out, batch: 2, ...PAINTER })).toThrow(KernelArgError);
    expect(() => timestep(b, { t, out, batch: 2, ...PAINTER })).toThrow(
      'timestep: out holds 1024 bytes but 2048 are needed',
    );
    expect(() => timestep(b, { t, out, batch: 3, ...PAINTER, dim: 8 })).toThrow(
      'timestep: t holds 8 bytes but 12 are needed',
    );
    expect(() => timestep(b, { t, out, batch: 1, ...PAINTER, dim: 7 })).toThrow('timestep: dim must be even, got 7');
  });
});
