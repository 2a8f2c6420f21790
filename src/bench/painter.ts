/**
 * @file Benchmark: time per image of the painter (noise → N Euler steps with CFG → VAE decode) on our WGSL engine,
 * with and without the condition-K/V cache, against the reference path (the pack's painter.onnx through
 * onnxruntime-web on the same device, full recompute per step and branch, CFG + Euler on the CPU — the SD-Turbo web
 * demo's way). Same pack (tiny-random), same conditions (a 120-row positive and a 29-row negative, the sizes of the
 * Imagine fixture), same seed, size and steps. Before timing, the three images are compared (max pixel difference).
 */
import { FetchPackSource } from '../packs/source';
import { GpuBatch } from '../gpu/batch';
import { uploadBuffer } from '../gpu/readback';
import { Painter, PainterEngine, type PaintOptions, type PaintResult } from '../models/painter';
import { loadPainterWeights } from '../models/painter/weights';
import { measureInterleaved, randomF32, type Impl } from './measure';
import { dispatchProfile } from './profile';
import type { Bench, BenchContext, BenchReport } from './registry';

function maxPixelDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Where one cached step's time goes: every dispatch of `encodeStep` submitted and awaited alone (after a warm-up
 * replay), summed per kernel. Copies between passes are not timed.
 */
async function stepProfile(device: GPUDevice, source: FetchPackSource, opts: PaintOptions): Promise<string> {
  const m = await source.manifest();
  const engine = new PainterEngine(device, await loadPainterWeights(device, source, 'f32'), m.connector, m.painter);
  const h = opts.height / m.vae.downscale;
  const w = opts.width / m.vae.downscale;
  const session = engine.session({ conditions: [opts.positive, opts.negative!], h, w, timesteps: [0.5] });
  const z = uploadBuffer(device, new Float32Array(m.painter.latent_channels * h * w).fill(0.1), 'bench z');
  try {
    const prep = new GpuBatch(device, 'bench prepare');
    session.encodePrepare(prep);
    session.encodePrefix(prep);
    prep.submit();
    const p = await dispatchProfile(device, (b) => session.encodeStep(b, 0, z, z, opts.guidance, 0));
    const parts = p.kernels.map((k) => `${k.kernel} ${k.calls}x ${k.ms.toFixed(0)} ms`);
    return (
      `one cached step, each of its ${p.dispatches} dispatches timed alone ` +
      `(sum ${p.totalMs.toFixed(0)} ms): ${parts.join(', ')}`
    );
  } finally {
    session.dispose();
    engine.dispose();
    z.destroy();
  }
}

export const painterBench: Bench = {
  name: 'painter',
  description:
    'time per image: our WGSL painter (condition-K/V cache on / off) vs painter.onnx on onnxruntime-web with CPU Euler',
  async run(report: BenchReport, ctx: BenchContext) {
    const device = ctx.device;
    const source = new FetchPackSource('tiny-random', new URL('/models/tiny-random/', location.href).href);
    const m = await source.manifest();
    const H = m.connector?.input_size ?? m.painter.hidden_size;
    const steps = 4;
    const opts: PaintOptions = {
      positive: { rows: 120, hidden: H, cpu: randomF32(120 * H, 1, 2) },
      negative: { rows: 29, hidden: H, cpu: randomF32(29 * H, 2, 2) },
      width: 64,
      height: 64,
      steps,
      guidance: 3,
      seed: 42,
    };
    const choice = { backend: 'webgpu' as const, device };
    report.log('painter: loading our engine and the reference (painter.onnx) on the same device…');
    const ours = await Painter.load(source, choice, { kind: 'ours' });
    const ref = await Painter.load(source, choice, { kind: 'reference' });
    try {
      const last = new Map<string, PaintResult>();
      const impls: Impl[] = [
        { name: 'reference: painter.onnx + CPU Euler', run: async () => void last.set('ref', await ref.paint(opts)) },
        { name: 'ours, condition-K/V cache', run: async () => void last.set('cache', await ours.paint(opts)) },
        {
          name: 'ours, no cache (prefix recomputed every step)',
          run: async () => void last.set('nocache', await ours.paint({ ...opts, useCache: false })),
        },
      ];
      const measurements = await measureInterleaved(device, impls, {
        warmup: 1,
        reps: ctx.reps ?? 3,
        onSample: (impl, ms) => report.log(`  ${impl}: ${ms.toFixed(0)} ms`),
      });
      const r = last.get('ref')!;
      const c = last.get('cache')!;
      const n = last.get('nocache')!;
      const profile = await stepProfile(device, source, opts);
      report.log(profile);
      const stepRatio = (x: PaintResult) => (r.timings.stepsMs / x.timings.stepsMs).toFixed(2);
      report.result({
        name: 'painter: time per image',
        sizes:
          `64×64 (latent 4×16×16, 64 tokens), ${steps} steps, CFG with conditions of 120 and 29 rows, ` +
          'tiny-random f32, VAE decode included',
        baseline: impls[0]!.name,
        measurements,
        notes: [
          `max pixel difference: ours (cache) vs reference ${maxPixelDiff(c.rgb, r.rgb)}/255, ` +
            `cache vs no cache ${maxPixelDiff(c.rgb, n.rgb)}/255`,
          `steps only (last sample): reference ${r.timings.stepsMs.toFixed(0)} ms, ` +
            `ours+cache ${c.timings.stepsMs.toFixed(0)} ms (${stepRatio(c)}x), ` +
            `ours no cache ${n.timings.stepsMs.toFixed(0)} ms (${stepRatio(n)}x)`,
          `ours+cache phases (last sample): prepare ${c.timings.prepareMs.toFixed(0)} ms, ` +
            `steps ${c.timings.stepsMs.toFixed(0)} ms, VAE ${c.timings.vaeMs.toFixed(0)} ms`,
          profile,
        ],
      });
    } finally {
      await ours.dispose();
      await ref.dispose();
    }
  },
};
