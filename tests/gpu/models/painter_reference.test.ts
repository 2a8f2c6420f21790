/**
 * The ONNX reference painter (painter.onnx through onnxruntime-web, full recompute per step and branch, CFG + Euler
 * on the CPU) on WebGPU, the baseline `npm run bench` measures our engine against: its latents and image equal
 * PyTorch and our engine's, for Imagine and Edit. Heavy (onnxruntime's WebGPU backend compiles the whole graph on
 * SwiftShader): `npm run test:heavy`. The same reference code on WASM is in `npm test` (imagine.nogpu.test.ts,
 * tests/unit/models/ort_wasm.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { Painter } from '../../../src/models/painter';
import { expectMatchesFixture, fixturePaintOptions, maxPixelDiff, tinyRandom } from './painter_fixtures';

/** Latent tolerance of the reference path (onnxruntime-web's own rounding); ours is held to 1e-4. */
const REF_LATENT_TOL = 2e-3;

describe('painter reference path on WebGPU', async () => {
  const device = await acquireDevice();
  const pack = tinyRandom();
  const choice = { backend: 'webgpu' as const, device };
  const ours = await Painter.load(pack, choice, { kind: 'ours' });
  const ref = await Painter.load(pack, choice, { kind: 'reference', vae: 'webgpu' });
  afterAll(async () => {
    await ours.dispose();
    await ref.dispose();
  });
  it('Imagine: equals PyTorch and our engine', async () => {
    const opts = { ...(await fixturePaintOptions('imagine')), collectLatents: true };
    const r = await ref.paint(opts);
    console.log('Imagine timings (reference, ms):', JSON.stringify(r.timings));
    // onnxruntime-web's WebGPU EP itself is up to ~7e-4 from PyTorch on these latents (its own rounding).
    await expectMatchesFixture(r, 'imagine', REF_LATENT_TOL);
    expect(maxPixelDiff(r.image, (await ours.paint(opts)).image)).toBeLessThanOrEqual(1);
  });

  it('Edit: latents and image equal PyTorch', async () => {
    const opts = { ...(await fixturePaintOptions('edit')), collectLatents: true };
    await expectMatchesFixture(await ref.paint(opts), 'edit', REF_LATENT_TOL);
  });
});
