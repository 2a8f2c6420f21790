// preview: every byte within 1 of the twin (a GPU may fuse the multiply-adds of A·z + b, which can move a value
// across a rounding boundary of the byte); on this adapter they are also counted for exact agreement.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readU32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { preview } from '../../../src/kernels/preview';
import { previewRef } from '../../../src/kernels/preview.ref';

const cases = [
  { channels: 4, height: 1, width: 1 },
  { channels: 4, height: 16, width: 16 },
  { channels: 16, height: 37, width: 29 },
  { channels: 3, height: 130, width: 110 },
];

describe('preview', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const c of cases) {
    it(`matches its twin: ${JSON.stringify(c)}`, async () => {
      const n = c.channels * c.height * c.width;
      const z = randomF32(n, n, -3, 3);
      const matrix = randomF32(3 * c.channels, 1, -0.2 / c.channels, 0.2 / c.channels);
      const bias = [0.5, 0.4, 0.6];
      const out = bufs.empty(c.height * c.width * 4);
      runBatch(device, (b) => preview(b, { ...c, latents: bufs.upload(z), out, matrix, bias }));
      const got = await readU32(device, out, c.height * c.width);
      const want = previewRef(z, { ...c, matrix, bias });
      let exact = 0;
      let clipped = 0;
      for (let i = 0; i < want.length; i++) {
        for (let s = 0; s < 32; s += 8) {
          const g = (got[i]! >>> s) & 255;
          const w = (want[i]! >>> s) & 255;
          expect(Math.abs(g - w)).toBeLessThanOrEqual(1);
          if (g === w) exact++;
          if (s < 24 && (w === 0 || w === 255)) clipped++;
        }
      }
      expect((want[0]! >>> 24) & 255).toBe(255);
      console.info(
        `preview ${JSON.stringify(c)}: ${exact} of ${4 * want.length} bytes exact, ` +
          `${clipped} of ${3 * want.length} colour bytes clipped`,
      );
    });
  }

  it('maps a known latent to known bytes', async () => {
    // z = (1, -1) at the only pixel; red = 0.25*1 + 0.25*(-1) + 0.5 = 0.5 -> 128 (half up),
    // green 1.2 -> 255, blue -0.3 -> 0
    const out = bufs.empty(4);
    runBatch(device, (b) =>
      preview(b, {
        channels: 2,
        height: 1,
        width: 1,
        latents: bufs.upload(new Float32Array([1, -1])),
        out,
        matrix: [0.25, 0.25, 1, -0.2, 0, 0.3],
        bias: [0.5, 0, 0],
      }),
    );
    expect(Array.from(new Uint8Array((await readU32(device, out, 1)).buffer))).toEqual([128, 255, 0, 255]);
  });

  it('rejects bad arguments before dispatching', () => {
    const latents = bufs.empty(4 * 64);
    const out = bufs.empty(4 * 16);
    const b = new GpuBatch(device);
    const ok = { channels: 4, height: 4, width: 4, latents, out, matrix: new Array(12).fill(0), bias: [0, 0, 0] };
    expect(() => preview(b, { ...ok, width: 5 })).toThrow(KernelArgError);
    expect(() => preview(b, { ...ok, width: 5 })).toThrow('preview: latents holds 256 bytes but 320 are needed');
    expect(() => preview(b, { ...ok, matrix: [1, 2, 3] })).toThrow(
      'preview: matrix has 3 numbers but 3 x 4 are needed',
    );
    expect(() => preview(b, { ...ok, bias: [0, 0] })).toThrow('preview: bias has 2 numbers but 3 are needed');
    expect(() => preview(b, { ...ok, bias: [0, Number.NaN, 0] })).toThrow('preview: matrix and bias must be finite');
    expect(() => preview(b, { ...ok, out: bufs.empty(60) })).toThrow('preview: out holds 60 bytes but 64 are needed');
  });
});
