// sincos2d: against the twin at 1e-4 relative (1e-5 absolute near zero), and against the PyTorch painter's own
// 8x8 embedding saved in the tiny-random fixtures.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, expectClose, readF32, runBatch } from '../../helpers/gpu';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { sincos2d, type Sincos2dArgs } from './support/sincos2d';
import { sincos2dTable } from '../../../src/models/painter/tables';
import fixtures from '../../fixtures/tiny-random/fixtures.json';
import posEmbedUrl from '../../fixtures/tiny-random/painter_pos_embed_8x8.bin?url';

const cases: Array<Omit<Sincos2dArgs, 'out'>> = [
  { gh: 1, gw: 1, dim: 4 },
  { gh: 8, gw: 8, dim: 64 },
  { gh: 3, gw: 5, dim: 36 },
  { gh: 32, gw: 48, dim: 128, base: 10000, scale: 0.5 },
  { gh: 6, gw: 9, dim: 1152, maxSize: 192 },
  { gh: 10, gw: 7, dim: 20, maxSize: 4, scale: 2.5, base: 100 },
];

describe('sincos2d', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const c of cases) {
    it(`matches its twin: ${JSON.stringify(c)}`, async () => {
      const n = c.gh * c.gw * c.dim;
      const out = bufs.empty(n * 4);
      runBatch(device, (b) => sincos2d(b, { ...c, out }));
      expectClose(await readF32(device, out, n), sincos2dTable(c));
    });
  }

  it('matches the PyTorch painter (fixture pos_embed_8x8, hidden 64)', async () => {
    const want = new Float32Array(await (await fetch(posEmbedUrl)).arrayBuffer());
    expect(fixtures.painter.intermediates.pos_embed_8x8.shape).toEqual([64, 64]);
    const out = bufs.empty(want.byteLength);
    runBatch(device, (b) => sincos2d(b, { out, gh: 8, gw: 8, dim: 64 }));
    expectClose(await readF32(device, out, want.length), want);
    expectClose(sincos2dTable({ gh: 8, gw: 8, dim: 64 }), want, 1e-6, 1e-7);
  });

  it('rejects bad arguments before dispatching', () => {
    const out = bufs.empty(1024);
    const b = new GpuBatch(device);
    expect(() => sincos2d(b, { out, gh: 4, gw: 4, dim: 20 })).toThrow(KernelArgError);
    expect(() => sincos2d(b, { out, gh: 4, gw: 4, dim: 20 })).toThrow(
      'sincos2d: out holds 1024 bytes but 1280 are needed',
    );
    expect(() => sincos2d(b, { out, gh: 2, gw: 2, dim: 6 })).toThrow('sincos2d: dim must be a multiple of 4, got 6');
    expect(() => sincos2d(b, { out, gh: 0, gw: 2, dim: 8 })).toThrow('sincos2d: gh must be a positive integer, got 0');
  });
});
