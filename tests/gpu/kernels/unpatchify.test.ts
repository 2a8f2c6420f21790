// unpatchify: a pure gather, so the GPU must equal its twin exactly; the twin must equal PyTorch's reshape +
// permute, and unpatchify(patchify(x)) must give x back.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { patchify } from '../../../src/kernels/patchify';
import { unpatchify } from '../../../src/kernels/unpatchify';
import { unpatchifyRef } from '../../../src/kernels/unpatchify.ref';
import { patchCases, torchUnpatchify } from './patchify_cases';

describe('unpatchify', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const s of patchCases) {
    it(`equals its twin and PyTorch's permute, and inverts patchify: ${JSON.stringify(s)}`, async () => {
      const n = s.batch * s.channels * s.height * s.width;
      const tok = randomF32(n, n + 1);
      const latents = bufs.empty(n * 4);
      const x = randomF32(n, n + 2);
      const xBuf = bufs.upload(x);
      const mid = bufs.empty(n * 4);
      const back = bufs.empty(n * 4);
      runBatch(device, (b) => {
        unpatchify(b, { ...s, tokens: bufs.upload(tok), latents });
        patchify(b, { ...s, latents: xBuf, tokens: mid });
        unpatchify(b, { ...s, tokens: mid, latents: back });
      });
      const want = unpatchifyRef(tok, s);
      expect(want).toEqual(torchUnpatchify(tok, s));
      expect(await readF32(device, latents, n)).toEqual(want);
      expect(await readF32(device, back, n)).toEqual(x);
    });
  }

  it('rejects bad arguments before dispatching', () => {
    const buf = bufs.empty(4 * 64);
    const b = new GpuBatch(device);
    const ok = { batch: 1, channels: 4, height: 4, width: 4, patch: 2, latents: buf, tokens: buf };
    expect(() => unpatchify(b, { ...ok, batch: 2 })).toThrow(KernelArgError);
    expect(() => unpatchify(b, { ...ok, batch: 2 })).toThrow('unpatchify: tokens holds 256 bytes but 512 are needed');
    expect(() => unpatchify(b, { ...ok, patch: 3 })).toThrow(
      'unpatchify: height 4 and width 4 must be multiples of patch 3',
    );
    expect(() => unpatchify(b, { ...ok, channels: 0 })).toThrow(
      'unpatchify: channels must be a positive integer, got 0',
    );
  });
});
