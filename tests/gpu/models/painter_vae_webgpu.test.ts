/**
 * The painter with its VAE forced onto onnxruntime's WebGPU backend (the no-copy GPU tensor path a real GPU takes;
 * on this fallback adapter `vaeBackend` picks WASM): Edit, which runs both VAE graphs (the encoder's mean feeds the
 * start latent, the decoder the image), equals the PyTorch fixture. Heavy (onnxruntime's WebGPU shader compiles,
 * about 25 s on SwiftShader): `npm run test:heavy`; the same fixtures with the VAE on WASM are in
 * painter_sampler.test.ts (`npm test`).
 */
import { describe, expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { Painter } from '../../../src/models/painter';
import { expectMatchesFixture, fixturePaintOptions, tinyRandom } from './painter_fixtures';

describe('painter, VAE on WebGPU', async () => {
  const device = await acquireDevice();
  const pack = tinyRandom();
  const choice = { backend: 'webgpu' as const, device };

  it('our engine with the VAE forced onto WebGPU (GPU tensors, no copy): Edit equals PyTorch', async () => {
    // Edit runs both VAE graphs (the encoder's mean feeds the start latent, the decoder the image): one run holds
    // the no-copy GPU path of each to the fixture.
    const onGpu = await Painter.load(pack, choice, { kind: 'ours', vae: 'webgpu' });
    try {
      expect(onGpu.vae.backend).toBe('webgpu');
      const opts = { ...(await fixturePaintOptions('edit')), collectLatents: true };
      await expectMatchesFixture(await onGpu.paint(opts), 'edit', 1e-4);
    } finally {
      await onGpu.dispose();
    }
  });
});
