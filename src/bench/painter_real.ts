/**
 * @file Benchmark: one painter denoising step at OmniGen's layer shape (hidden 3072, 32 heads × 96, intermediate
 * 8,192; src/models/painter/random_pack.ts) on seeded random int4 weights, 1,024 image tokens (a 64×64 latent,
 * 512² with an /8 VAE, patch 2) after a 300-row condition, one CFG branch: our WGSL engine with the condition-K/V
 * cache (the condition's K/V computed once, then only the 1 + N time and image rows per step), ours without it
 * (the condition's K/V recomputed before the step), and onnxruntime-web's WebGPU EP on an ONNX of the same network
 * and the same int4 bytes (src/bench/painter_onnx.ts, the whole sequence every step), on the same device and the
 * same inputs. Before timing, the three velocities are compared (max |difference| / max |ORT's|).
 *
 * Both sides get the condition already in the painter's width (no connector) and the timestep's sinusoidal
 * features; each step reads its 1 × 4 × 64 × 64 velocity back to the CPU. The per-request work of our engine
 * (time embedders, adaLN of every step) is outside the step, as ORT's time embedders (two 1-row MLPs) are not.
 */
import { GpuBatch } from '../gpu/batch';
import { liveBufferCount } from '../gpu/device';
import { readF32, uploadBuffer, emptyBuffer } from '../gpu/readback';
import { PainterEngine, type PainterSession } from '../models/painter/dit';
import {
  identityConnector,
  omnigenShape,
  randomPainterWeights,
  uploadPainterTensors,
} from '../models/painter/random_pack';
import { timestepFeatures } from '../models/painter/tables';
import { memoTensors, type RealShapeFormat } from '../models/reasoner/random_pack';
import type { PainterConfig } from '../packs/manifest';
import { createSession, gpuTensor, run, type OrtSession } from '../runtime/ort';
import { measureInterleaved, randomF32, type Impl } from './measure';
import { buildPainterStepOnnx, type PainterStepShape } from './painter_onnx';
import { dispatchProfile, formatProfile } from './profile';
import type { Bench, BenchContext, BenchReport } from './registry';

/** The case the issue asks for: 300 condition rows, a 64×64 latent (1,024 image tokens), t = 0.5, seed 1. */
export const PAINTER_REAL_CASE = { seed: 1, Lc: 300, h: 64, w: 64, t: 0.5 } as const;

/** max |a − b| / max |b|. */
export function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}

export interface PainterStepRigOptions extends PainterStepShape {
  seed: number;
  /** The timestep. */
  t: number;
  format?: RealShapeFormat;
  /** The ONNX graph's attention head groups' score limit (buildPainterStepOnnx). */
  maxScoreBytes?: number;
  log?: (line: string) => void;
}

/**
 * Our engine and onnxruntime-web set up for one step of `pc` on the same weights and inputs (the inputs live in
 * our buffers; ORT reads them in place). `dispose()` releases everything it made.
 */
export class PainterStepRig {
  private readonly owned: GPUBuffer[] = [];
  private engine: PainterEngine | null = null;
  private cachedSession: PainterSession | null = null;
  private plainSession: PainterSession | null = null;
  private ort: OrtSession | null = null;
  private condition!: GPUBuffer;
  private latents!: GPUBuffer;
  private features!: GPUBuffer;
  private zOut!: GPUBuffer;
  weightBytes = 0;
  onnxBytes = 0;

  private constructor(
    readonly device: GPUDevice,
    readonly pc: PainterConfig,
    readonly o: PainterStepRigOptions,
  ) {}

  static async create(device: GPUDevice, pc: PainterConfig, o: PainterStepRigOptions): Promise<PainterStepRig> {
    const rig = new PainterStepRig(device, pc, o);
    try {
      await rig.init();
      return rig;
    } catch (e) {
      await rig.dispose();
      throw e;
    }
  }

  private async init(): Promise<void> {
    const { device, pc, o } = this;
    const log = o.log ?? (() => {});
    const D = pc.hidden_size;
    const C = pc.latent_channels;
    const tensors = memoTensors(randomPainterWeights(pc, o.seed, o.format ?? 'int4'));
    let t0 = performance.now();
    const weights = uploadPainterTensors(device, pc, tensors);
    this.engine = new PainterEngine(device, weights, identityConnector(pc), pc);
    this.weightBytes = weights.bytes;
    log(`ours: ${(weights.bytes / 1e6).toFixed(1)} MB of weights made and uploaded in ${ms(t0)}`);
    t0 = performance.now();
    const onnx = buildPainterStepOnnx(pc, tensors, o, { maxScoreBytes: o.maxScoreBytes });
    this.onnxBytes = onnx.byteLength;
    log(`ONNX: ${(onnx.byteLength / 1e6).toFixed(1)} MB built in ${ms(t0)}`);
    t0 = performance.now();
    this.ort = await createSession(onnx, { backend: 'webgpu', device, label: 'painter step ONNX' });
    log(`onnxruntime-web session created in ${ms(t0)}`);
    const up = (data: Float32Array, label: string) => {
      const b = uploadBuffer(device, data, label);
      this.owned.push(b);
      return b;
    };
    this.condition = up(randomF32(o.Lc * D, o.seed + 1, 1), 'painter rig condition');
    this.latents = up(randomF32(C * o.h * o.w, o.seed + 2, 1), 'painter rig latents');
    this.features = up(timestepFeatures([o.t], pc), 'painter rig timestep features');
    this.zOut = emptyBuffer(device, C * o.h * o.w * 4, 'painter rig velocity');
    this.owned.push(this.zOut);
    const session = () =>
      this.engine!.session({
        conditions: [{ rows: o.Lc, hidden: D, buffer: this.condition }],
        h: o.h,
        w: o.w,
        timesteps: [o.t],
      });
    // Per request: the (identity) connector, the time embedders; the cached session's condition K/V once.
    this.cachedSession = session();
    this.plainSession = session();
    const b = new GpuBatch(device, 'painter rig prepare');
    this.cachedSession.encodePrepare(b);
    this.cachedSession.encodePrefix(b);
    this.plainSession.encodePrepare(b);
    b.submit();
    await device.queue.onSubmittedWorkDone();
  }

  /** One step's velocity (z_out = 0 + 1 · v) encoded on `b`; `cache` false recomputes the condition K/V first. */
  encodeStep(b: GpuBatch, cache: boolean): void {
    const s = cache ? this.cachedSession! : this.plainSession!;
    if (!cache) s.encodePrefix(b);
    b.encoder.clearBuffer(this.zOut);
    s.encodeStep(b, 0, this.latents, this.zOut, 1, 1);
  }

  /** Our step, read back. */
  async ours(cache: boolean): Promise<Float32Array> {
    const b = new GpuBatch(this.device, 'painter rig step');
    this.encodeStep(b, cache);
    b.submit();
    return readF32(this.device, this.zOut);
  }

  /** onnxruntime-web's step on the same inputs, read back. */
  async theirs(): Promise<Float32Array> {
    const { pc, o } = this;
    const feeds = {
      condition: gpuTensor(this.condition, [1, o.Lc, pc.hidden_size]),
      latents: gpuTensor(this.latents, [1, pc.latent_channels, o.h, o.w]),
      timestep_features: gpuTensor(this.features, [1, pc.timestep_freq_dim]),
    };
    const out = await run(this.ort!, feeds);
    const v = out.velocity!;
    const data = (await v.getData()) as Float32Array;
    v.dispose();
    return data;
  }

  async dispose(): Promise<void> {
    this.cachedSession?.dispose();
    this.plainSession?.dispose();
    this.engine?.dispose();
    await this.ort?.release();
    this.cachedSession = this.plainSession = this.engine = this.ort = null;
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}

function ms(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

/** The bench at OmniGen's layer shape with `layers` layers. */
export function painterRealShapeBench(name: string, layers: number): Bench {
  return {
    name,
    optIn: true,
    description:
      `one painter step at OmniGen's layer shape (${layers} layer${layers > 1 ? 's' : ''}, int4, 300 condition + ` +
      '1,024 image tokens, one CFG branch): ours with / without the condition-K/V cache vs onnxruntime-web',
    run: (report, ctx) => runPainterReal(report, ctx, omnigenShape(layers)),
  };
}

async function runPainterReal(report: BenchReport, ctx: BenchContext, pc: PainterConfig): Promise<void> {
  const { device } = ctx;
  const before = liveBufferCount(device);
  const c = PAINTER_REAL_CASE;
  const rig = await PainterStepRig.create(device, pc, { ...c, format: 'int4', log: (l) => report.log(l) });
  try {
    let t0 = performance.now();
    const theirs = await rig.theirs();
    report.log(`ORT first step (with its shader compiles) ${ms(t0)}`);
    t0 = performance.now();
    const cached = await rig.ours(true);
    report.log(`ours (cache) first step ${ms(t0)}`);
    const plain = await rig.ours(false);
    const errCached = relMax(cached, theirs);
    const errPlain = relMax(plain, theirs);
    const errSelf = relMax(cached, plain);
    report.log(
      `velocity max |diff| / max |ORT|: ours+cache ${errCached.toExponential(2)}, ours no cache ` +
        `${errPlain.toExponential(2)}; cache vs no cache ${errSelf.toExponential(2)}`,
    );
    // Same int4 bytes, f32 arithmetic on both sides: a wrong layout, mask or RoPE moves the output by tens of %.
    if (!(errCached < 1e-3 && errPlain < 1e-3))
      throw new Error('ours and onnxruntime-web disagree on the velocity from the same weights and inputs');
    const impls: Impl[] = [
      { name: 'onnxruntime-web WebGPU (full sequence)', run: async () => void (await rig.theirs()) },
      { name: 'ours, condition-K/V cache', run: async () => void (await rig.ours(true)) },
      { name: 'ours, no cache (condition K/V recomputed)', run: async () => void (await rig.ours(false)) },
    ];
    const m = await measureInterleaved(device, impls, {
      warmup: 0,
      reps: ctx.reps ?? 3,
      onSample: (impl, t) => report.log(`  ${impl}: ${t.toFixed(0)} ms`),
    });
    const prof = await dispatchProfile(device, (b) => rig.encodeStep(b, true), { warmup: 0, rounds: 1 });
    const profile =
      `ours+cache per kernel (each of ${prof.dispatches} dispatches timed alone, sum ${prof.totalMs.toFixed(0)} ` +
      `ms): ${formatProfile(prof)}`;
    report.log(profile);
    const ratio = (i: number) => (m[0]!.medianMs / m[i]!.medianMs).toFixed(2);
    report.result({
      name: 'painter one step, OmniGen layer shape',
      sizes:
        `hidden ${pc.hidden_size}, ${pc.num_attention_heads} heads × ${pc.head_dim}, intermediate ` +
        `${pc.intermediate_size}, ${pc.num_hidden_layers} layer(s), int4 block-32 layer projections ` +
        `(${(rig.weightBytes / 1e6).toFixed(0)} MB), condition ${c.Lc} rows + time token + ` +
        `${((c.h / pc.patch_size) * c.w) / pc.patch_size} image tokens (latent 4×${c.h}×${c.w}), one CFG branch`,
      baseline: impls[0]!.name,
      measurements: m,
      notes: [
        `velocity vs ORT (max |diff| / max |ORT|): cache ${errCached.toExponential(2)}, ` +
          `no cache ${errPlain.toExponential(2)}`,
        `ORT / ours: with cache ${ratio(1)}x, without ${ratio(2)}x (goal ≥ 2x)`,
        profile,
      ],
    });
  } finally {
    await rig.dispose();
    if (liveBufferCount(device) !== before) report.log('warning: buffers left behind by the painter real-shape bench');
  }
}

/** One layer: what a software adapter runs in minutes. */
export const painterRealBench = painterRealShapeBench('omnigen-step-1l', 1);
/** Two layers. */
export const painterReal2Bench = painterRealShapeBench('omnigen-step-2l', 2);
