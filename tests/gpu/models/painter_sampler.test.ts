/**
 * The whole painter (noise → N Euler steps with CFG → VAE) from the fixtures' condition hidden states: every latent
 * z_0 … z_N and the image equal PyTorch (Imagine and Edit), the condition-K/V cache changes nothing, previews
 * arrive, cancel then rerun gives the same image, and the number of live GPU buffers is stable over 20 runs. The
 * VAE runs where `vaeBackend` puts it (WASM on this fallback adapter); the VAE forced onto WebGPU (the no-copy GPU
 * tensor path a real GPU takes) is held to the same fixture in painter_vae_webgpu.test.ts (`npm run test:heavy`:
 * onnxruntime's WebGPU shader compiles take about 25 s on SwiftShader).
 * The ONNX reference path on WebGPU (a benchmark baseline) is in painter_reference.test.ts (`npm run test:heavy`);
 * on WASM it is checked by imagine.nogpu.test.ts and tests/unit/models/ort_wasm.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount, liveBufferLabels } from '../../../src/gpu/device';
import { Painter, vaeBackend, type PaintResult, type PreviewFrame } from '../../../src/models/painter';
import { CancelledError } from '../../../src/errors';
import { expectMatchesFixture, fixtureF32, fixturePaintOptions, fx, maxAbsDiff, tinyRandom } from './painter_fixtures';

const H = 64;

describe('painter sampler', async () => {
  const device = await acquireDevice();
  const pack = tinyRandom();
  const choice = { backend: 'webgpu' as const, device };
  const ours = await Painter.load(pack, choice, { kind: 'ours' });
  afterAll(async () => {
    await ours.dispose();
  });

  it('the VAE backend: WASM on a fallback adapter unless forced; WebGPU on a GPU; WASM without WebGPU', () => {
    expect(device.adapterInfo.isFallbackAdapter).toBe(true);
    expect(ours.vae.backend).toBe('wasm');
    const gpu = { adapterInfo: { isFallbackAdapter: false } } as unknown as GPUDevice;
    expect(vaeBackend({ backend: 'webgpu', device: gpu })).toBe('webgpu');
    expect(vaeBackend({ backend: 'webgpu', device: gpu }, 'wasm')).toBe('wasm');
    expect(vaeBackend({ backend: 'webgpu', device }, 'auto')).toBe('wasm');
    expect(vaeBackend({ backend: 'wasm' }, 'webgpu')).toBe('wasm');
  });
  const imagineOpts = () => fixturePaintOptions('imagine');
  let oursImagine: PaintResult;

  it('Imagine, our engine: every latent (1e-4) and the image (2/255) equal PyTorch; previews arrive', async () => {
    const frames: PreviewFrame[] = [];
    oursImagine = await ours.paint({
      ...(await imagineOpts()),
      collectLatents: true,
      previewEvery: 2,
      onPreview: (f) => frames.push(f),
    });
    await expectMatchesFixture(oursImagine, 'imagine', 1e-4);
    console.log('Imagine timings (ours, ms):', JSON.stringify(oursImagine.timings));
    expect(frames.map((f) => [f.step, f.width, f.height, f.rgba.length])).toEqual([[2, 16, 16, 16 * 16 * 4]]);
  });

  it('without the condition-K/V cache the image is the same', async () => {
    const r = await ours.paint({ ...(await imagineOpts()), useCache: false });
    expect(maxAbsDiff(r.image, oursImagine.image)).toBeLessThan(1e-5);
  });

  it('Edit, our engine: latents and image equal PyTorch', async () => {
    const opts = { ...(await fixturePaintOptions('edit')), collectLatents: true };
    await expectMatchesFixture(await ours.paint(opts), 'edit', 1e-4);
  });

  it('cancel during the steps frees what the run allocated; run again: the same image as uninterrupted', async () => {
    await device.queue.onSubmittedWorkDone();
    const before = liveBufferCount(device);
    const ac = new AbortController();
    const run = ours.paint({ ...(await imagineOpts()), signal: ac.signal, onStep: (done) => done === 2 && ac.abort() });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    await device.queue.onSubmittedWorkDone();
    expect(liveBufferCount(device), liveBufferLabels(device).join(', ')).toBe(before);
    const again = await ours.paint(await imagineOpts());
    expect(again.rgb).toEqual(oursImagine.rgb);
    expect(maxAbsDiff(again.image, oursImagine.image)).toBe(0);
  });

  it('live GPU buffers are stable over 20 runs', async () => {
    // Short conditions and one step keep 20 runs affordable on software WebGPU.
    const c = await fixtureF32(fx.painter.condition.file);
    const cond = { rows: c.length / H, hidden: H, cpu: c };
    const opts = {
      ...(await imagineOpts()),
      positive: cond,
      negative: { ...cond, rows: 5, cpu: c.subarray(0, 5 * H) },
      steps: 1,
      width: 32,
      height: 32,
    };
    await ours.paint(opts);
    await device.queue.onSubmittedWorkDone();
    const before = liveBufferCount(device);
    for (let i = 0; i < 20; i++) await ours.paint({ ...opts, seed: i });
    await device.queue.onSubmittedWorkDone();
    const after = liveBufferCount(device);
    if (after !== before) console.log('live buffers:', liveBufferLabels(device).join(', '));
    expect(after).toBe(before);
  });
});
