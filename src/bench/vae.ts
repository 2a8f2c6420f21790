/**
 * @file Benchmark: where the VAE should run on this adapter. The tiny-random VAE decoder on onnxruntime-web's WebGPU
 * backend against its WASM backend, from our GPU buffer in both cases (WASM reads it back first, as the painter
 * does): the first decode of a fresh session at a new size (the WebGPU backend compiles its shaders then), and the
 * steady decode afterwards (interleaved medians). `vaeBackend` (src/models/painter/vae.ts) chooses WASM on a
 * fallback adapter from these figures; on a GPU the WebGPU side should win the steady decode.
 */
import { FetchPackSource } from '../packs/source';
import { uploadBuffer } from '../gpu/readback';
import { toPixels, Vae } from '../models/painter';
import { measureInterleaved, randomF32, type Impl } from './measure';
import type { Bench, BenchContext, BenchReport } from './registry';

export const vaeBench: Bench = {
  name: 'vae',
  description: 'the VAE decoder on onnxruntime-web: WebGPU backend vs WASM backend (first decode with compile; steady)',
  async run(report: BenchReport, ctx: BenchContext) {
    const device = ctx.device;
    const source = new FetchPackSource('tiny-random', new URL('/models/tiny-random/', location.href).href);
    const m = await source.manifest();
    const C = m.vae.latent_channels;
    const onGpu = { backend: 'webgpu' as const, device };
    // The runtime itself (the .wasm both backends live in) starts before anything is timed.
    const warm = await Vae.load(source, onGpu, 'wasm');
    await warm.decodeCpu(randomF32(C * 4 * 4, 9), 4, 4);
    await warm.dispose();
    const h = 16;
    const w = 16;
    const z = uploadBuffer(device, randomF32(C * h * w, 1, 1), 'bench vae latents');
    const vaes = { webgpu: await Vae.load(source, onGpu, 'webgpu'), wasm: await Vae.load(source, onGpu, 'wasm') };
    try {
      const first: Record<string, number> = {};
      const images: Record<string, Float32Array> = {};
      for (const k of ['webgpu', 'wasm'] as const) {
        const t0 = performance.now();
        images[k] = await vaes[k].decodeGpu(z, h, w);
        first[k] = performance.now() - t0;
        report.log(`  first decode, ${k}: ${first[k].toFixed(0)} ms`);
      }
      const impls: Impl[] = (['webgpu', 'wasm'] as const).map((k) => ({
        name: `onnxruntime-web ${k}`,
        run: async () => void (await vaes[k].decodeGpu(z, h, w)),
      }));
      const measurements = await measureInterleaved(device, impls, {
        warmup: 1,
        reps: ctx.reps ?? 5,
        onSample: (impl, ms) => report.log(`  ${impl}: ${ms.toFixed(1)} ms`),
      });
      const H = h * m.vae.downscale;
      const W = w * m.vae.downscale;
      const a = toPixels(images.webgpu!, H, W);
      const b = toPixels(images.wasm!, H, W);
      let dPx = 0;
      for (let i = 0; i < a.length; i++) dPx = Math.max(dPx, Math.abs(a[i]! - b[i]!));
      report.result({
        name: 'vae: decoder backend',
        sizes: `tiny-random VAE decoder, latents ${C}×${h}×${w} → ${H}×${W} RGB, from our GPU buffer`,
        baseline: impls[0]!.name,
        measurements,
        notes: [
          `first decode of a fresh session (WebGPU compiles its shaders): webgpu ${first.webgpu!.toFixed(0)} ms, ` +
            `wasm ${first.wasm!.toFixed(0)} ms, ratio ${(first.webgpu! / first.wasm!).toFixed(1)}x`,
          `max pixel difference webgpu vs wasm: ${dPx}/255`,
        ],
      });
    } finally {
      z.destroy();
      await vaes.webgpu.dispose();
      await vaes.wasm.dispose();
    }
  },
};
