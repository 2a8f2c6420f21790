// patchify: a pure gather, so the GPU must equal its twin exactly; the twin must equal PyTorch's reshape + permute.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, runBatch } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import { patchify } from '../../../src/kernels/patchify';
import { patchifyRef } from '../../../src/kernels/patchify.ref';
import { patchCases, torchPatchify } from './patchify_cases';

describe('patchify', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  for (const s of patchCases) {
    it(`equals its twin and PyTorch's permute: ${JSON.stringify(s)}`, async () => {
      const n = s.batch * s.channels * s.height * s.width;
      const x = randomF32(n, n);
      const tokens = bufs.empty(n * 4);
      runBatch(device, (b) => patchify(b, { ...s, latents: bufs.upload(x), tokens }));
      const want = patchifyRef(x, s);
      expect(want).toEqual(torchPatchify(x, s));
      expect(await readF32(device, tokens, n)).toEqual(want);
    });
  }

  it('rejects bad arguments before dispatching', () => {
    const buf = bufs.empty(4 * 64);
    const b = new GpuBatch(device);
    const ok = { batch: 1, channels: 4, height: 4, width: 4, patch: 2, latents: buf, tokens: buf };
    expect(() => patchify(b, { ...ok, height: 6 })).toThrow(KernelArgError);
    expect(() => patchify(b, { ...ok, height: 6 })).toThrow('patchify: latents holds 256 bytes but 384 are needed');
    expect(() => patchify(b, { ...ok, width: 5 })).toThrow(
      'patchify: height 4 and width 5 must be multiples of patch 2',
    );
    expect(() => patchify(b, { ...ok, tokens: bufs.empty(16) })).toThrow(
      'patchify: tokens holds 16 bytes but 256 are needed',
    );
  });
});
