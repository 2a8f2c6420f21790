/**
 * @file The painter: public surface. `Painter.paint` runs one image: seeded noise (or the Edit start from the VAE
 * encoder), N Euler steps with CFG, previews every k steps, and the VAE decode, on one of two engines:
 * - 'ours': the WGSL engine (dit.ts) on the shared WebGPU device, condition K/V cached once per branch, both CFG
 *   branches in one batch, CFG + Euler on the GPU, the VAE fed from our GPU buffer; nothing comes back to the CPU
 *   before the decoded image except the small preview frames.
 * - 'reference': painter.onnx through onnxruntime-web, full recompute per step and branch, CPU CFG + Euler (the
 *   WASM fallback and the benchmark baseline).
 */
import { GpuBatch } from '../../gpu/batch';
import { emptyBuffer, readBuffer, readF32 } from '../../gpu/readback';
import { noise } from '../../kernels/noise';
import { noiseRef } from '../../kernels/noise.ref';
import type { BackendChoice } from '../../runtime/backend';
import type { Manifest, WeightVariant } from '../../packs/manifest';
import type { PackSource } from '../../packs/source';
import { CancelledError, RgError } from '../../errors';
import { PainterEngine, type Condition } from './dit';
import { editStart } from '../../kernels/edit_start';
import { vaeInput } from '../../kernels/vae_input';
import { preview } from '../../kernels/preview';
import { previewRef } from '../../kernels/preview.ref';
import { ReferencePainter, cfgEulerCpu } from './reference';
import { sigmas } from './tables';
import { toPixels, Vae, type VaeBackendOption } from './vae';
import { loadPainterWeights } from './weights';
import { gatherCondition, PainterTextEncoder, type OwnedCondition } from './text';
import { DeviceCache } from '../cache';
import { RunQueue } from '../serial';

export type { Condition } from './dit';
export { PainterEngine, PainterSession } from './dit';
export { sigmas } from './tables';
export { toPixels, vaeBackend, vaeInputFromPixels, Vae, type VaeBackendOption } from './vae';
export { ReferencePainter } from './reference';
export { PainterTextEncoder, type OwnedCondition } from './text';

export type PainterKind = 'ours' | 'reference';

export interface PreviewFrame {
  /** Steps done when the frame was taken. */
  step: number;
  total: number;
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

export interface PaintOptions {
  positive: Condition;
  /** The unconditional (negative-prompt) branch; without it there is no CFG. */
  negative?: Condition | null;
  /** Image size in pixels (multiples of VAE downscale · patch). Validated by the pipelines. */
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed: number;
  /** Edit: the input image as VAE input [1, 3, height, width] in [−1, 1], and the strength in (0, 1]. */
  edit?: { image: Float32Array; strength: number } | null;
  /** A preview frame every this many steps (0 or absent: none). */
  previewEvery?: number;
  onPreview?: (frame: PreviewFrame) => void;
  onStep?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Our engine only: cache the condition K/V (default true); false recomputes it every step (benchmark). */
  useCache?: boolean;
  /** Tests: read back z_0 … z_N. */
  collectLatents?: boolean;
}

export interface PaintTimings {
  /** Noise / edit start, connector, temb, condition K/V (our engine). */
  prepareMs: number;
  stepsMs: number;
  vaeMs: number;
  totalMs: number;
}

export interface PaintResult {
  width: number;
  height: number;
  /** RGB bytes [height, width, 3]. */
  rgb: Uint8Array;
  /** The VAE output [1, 3, height, width] in ≈[−1, 1], before clamping. */
  image: Float32Array;
  latents?: Float32Array[];
  timings: PaintTimings;
  engine: PainterKind;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError('Painting cancelled');
}

const now = () => performance.now();

/**
 * The preview's linear map: RGB from the first three latent channels of z / scale + shift, mapped from the VAE's
 * [−1, 1] to [0, 1] (a cheap look at the image forming; packs have no learned latent-to-RGB map yet).
 */
function previewMap(C: number, scale: number, shift: number): { matrix: number[]; bias: number[] } {
  const matrix = new Array<number>(3 * C).fill(0);
  for (let c = 0; c < 3; c++) matrix[c * C + Math.min(c, C - 1)] = 0.5 / scale;
  return { matrix, bias: [0, 1, 2].map(() => 0.5 + 0.5 * shift) };
}

/** Negative text conditions a painter keeps (per negative text, least recently used dropped). */
const NEGATIVE_TEXTS = 4;

export class Painter {
  private readonly runs = new RunQueue('painter');
  /** Cascade packs: the negative text's condition per text (the painter owns them; freed on dispose). */
  private readonly negativeTexts = new Map<string, OwnedCondition>();

  private constructor(
    readonly kind: PainterKind,
    readonly manifest: Manifest,
    readonly choice: BackendChoice,
    readonly vae: Vae,
    private readonly engine: PainterEngine | null,
    private readonly reference: ReferencePainter | null,
    readonly weights: WeightVariant,
    /** The painter's own tokenizer and template (`cascade` packs; null in `mindomni` packs). */
    readonly text: PainterTextEncoder | null = null,
  ) {}

  /** Loads the painter of `source`'s pack: our engine needs WebGPU; 'reference' runs on either backend. */
  static async load(
    source: PackSource,
    choice: BackendChoice,
    opts: { kind?: PainterKind; weights?: WeightVariant; vae?: VaeBackendOption } = {},
  ): Promise<Painter> {
    const m = await source.manifest();
    const kind = opts.kind ?? (choice.backend === 'webgpu' ? 'ours' : 'reference');
    const variant = opts.weights ?? 'f32';
    if (kind === 'ours' && !choice.device) throw new RgError('INTERNAL', 'the WGSL painter needs the WebGPU device');
    if (m.painter_text && kind !== 'ours')
      throw new RgError('UNSUPPORTED_PACK', `pack ${m.id} paints from its own text embeddings on WebGPU only`, {
        field: 'painter',
        hint: 'Use a browser with WebGPU for this pack (it has no painter.onnx for the WASM fallback).',
      });
    const text = m.painter_text ? await PainterTextEncoder.load(source) : null;
    const vae = await Vae.load(source, choice, opts.vae);
    try {
      if (kind === 'ours') {
        const device = choice.device!;
        const w = await loadPainterWeights(device, source, variant);
        const engine = new PainterEngine(device, w, m.connector, m.painter);
        return new Painter(kind, m, choice, vae, engine, null, variant, text);
      }
      return new Painter(kind, m, choice, vae, null, await ReferencePainter.load(source, choice), variant);
    } catch (e) {
      await vae.dispose();
      throw e;
    }
  }

  /**
   * A `cascade` pack's condition for `text`: the painter's embedding rows of its wrapped tokens, on the GPU. The
   * caller owns it (dispose after painting).
   */
  textCondition(text: string): OwnedCondition {
    const enc = this.text;
    const table = this.engine?.weights.embedTokens;
    if (!enc || !table || !this.engine)
      throw new RgError('INTERNAL', `pack ${this.manifest.id} has no painter text conditioning`);
    return gatherCondition(
      this.engine.device,
      table,
      enc.ids(text),
      enc.config.vocab_size,
      this.manifest.painter.hidden_size,
    );
  }

  /** The negative branch's text condition, made once per text and kept by the painter (do not dispose it). */
  negativeTextCondition(text: string): { condition: OwnedCondition; cached: boolean } {
    const hit = this.negativeTexts.get(text);
    if (hit && !hit.disposed) {
      this.negativeTexts.delete(text);
      this.negativeTexts.set(text, hit); // most recent last
      return { condition: hit, cached: true };
    }
    const c = this.textCondition(text);
    this.negativeTexts.set(text, c);
    while (this.negativeTexts.size > NEGATIVE_TEXTS) {
      const [oldest, cond] = this.negativeTexts.entries().next().value!;
      // a run in progress may still read it: runs are serialised, so free it after the queued runs
      this.negativeTexts.delete(oldest);
      this.runs.run(async () => cond.dispose()).catch(() => cond.dispose());
    }
    return { condition: c, cached: false };
  }

  /** Paints one image (runs are serialised per painter). Throws CancelledError when `signal` aborts. */
  paint(o: PaintOptions): Promise<PaintResult> {
    return this.runs.run(() => (this.engine ? this.paintOurs(o) : this.paintReference(o)));
  }

  private shape(o: PaintOptions) {
    const ds = this.manifest.vae.downscale;
    const C = this.manifest.painter.latent_channels;
    const h = o.height / ds;
    const w = o.width / ds;
    const t0 = o.edit ? Math.fround(1 - Math.fround(o.edit.strength)) : 0;
    return { C, h, w, n: C * h * w, t0, sig: sigmas(t0, o.steps) };
  }

  private previewDue(o: PaintOptions, done: number): boolean {
    const k = o.previewEvery ?? 0;
    return k > 0 && !!o.onPreview && done % k === 0 && done < o.steps;
  }

  private async paintOurs(o: PaintOptions): Promise<PaintResult> {
    const engine = this.engine!;
    const device = engine.device;
    const vc = this.manifest.vae;
    const { C, h, w, n, t0, sig } = this.shape(o);
    const t = { start: now(), prepared: 0, stepped: 0 };
    const conditions = o.negative ? [o.positive, o.negative] : [o.positive];
    const useCache = o.useCache ?? true;
    throwIfAborted(o.signal);
    let session: ReturnType<typeof engine.session> | undefined;
    const owned: GPUBuffer[] = [];
    const buffer = (bytes: number, label: string) => {
      const b = emptyBuffer(device, bytes, label);
      owned.push(b);
      return b;
    };
    const latents: Float32Array[] = [];
    try {
      session = engine.session({ conditions, h, w, timesteps: sig.subarray(0, o.steps) });
      const z = buffer(n * 4, 'painter z');
      const zin = buffer(n * 4, 'vae input');
      const rgba = buffer(h * w * 4, 'preview rgba');
      let mean = null;
      if (o.edit) mean = await this.vae.encodeGpu(o.edit.image, o.height, o.width);
      try {
        const b = new GpuBatch(device, 'painter prepare');
        noise(b, { out: z, count: n, seed: o.seed >>> 0 });
        if (mean) editStart(b, { mean: mean.buffer, z, n, scale: vc.scaling_factor, shift: vc.shift_factor, t0 });
        session.encodePrepare(b);
        if (useCache) session.encodePrefix(b);
        b.submit();
        await device.queue.onSubmittedWorkDone();
      } finally {
        mean?.release();
      }
      if (o.collectLatents) latents.push(await readF32(device, z, n));
      t.prepared = now();
      for (let i = 0; i < o.steps; i++) {
        throwIfAborted(o.signal);
        const b = new GpuBatch(device, `painter step ${i}`);
        if (!useCache) session.encodePrefix(b);
        session.encodeStep(b, i, z, z, o.guidance, Math.fround(sig[i + 1]! - sig[i]!));
        const wantPreview = this.previewDue(o, i + 1);
        if (wantPreview)
          preview(b, {
            latents: z,
            out: rgba,
            channels: C,
            height: h,
            width: w,
            ...previewMap(C, vc.scaling_factor, vc.shift_factor),
          });
        b.submit();
        if (wantPreview) {
          const px = new Uint8ClampedArray(await readBuffer(device, rgba, h * w * 4));
          o.onPreview!({ step: i + 1, total: o.steps, width: w, height: h, rgba: px });
        } else if (o.collectLatents) {
          // readF32 below waits for the step
        } else {
          await device.queue.onSubmittedWorkDone();
        }
        if (o.collectLatents) latents.push(await readF32(device, z, n));
        o.onStep?.(i + 1, o.steps);
      }
      t.stepped = now();
      throwIfAborted(o.signal);
      const b = new GpuBatch(device, 'vae input');
      vaeInput(b, { z, out: zin, n, scale: vc.scaling_factor, shift: vc.shift_factor });
      b.submit();
      const image = await this.vae.decodeGpu(zin, h, w);
      return this.result(o, image, latents, t);
    } finally {
      session?.dispose();
      for (const b of owned) b.destroy();
    }
  }

  private async paintReference(o: PaintOptions): Promise<PaintResult> {
    const ref = this.reference!;
    const vc = this.manifest.vae;
    const { C, h, w, n, t0, sig } = this.shape(o);
    const t = { start: now(), prepared: 0, stepped: 0 };
    const cpu = async (c: Condition) =>
      c.cpu ??
      (c.buffer ? await readF32(this.choice.device!, c.buffer, c.rows * c.hidden, (c.byteOffset ?? 0) / 4) : null);
    const pos = await cpu(o.positive);
    const neg = o.negative ? await cpu(o.negative) : null;
    if (!pos || (o.negative && !neg)) throw new RgError('INTERNAL', 'painter: a condition has no data');
    const z = noiseRef({ count: n, seed: o.seed >>> 0 });
    if (o.edit) {
      const x1 = await this.vae.encodeCpu(o.edit.image, o.height, o.width);
      const omt = Math.fround(1 - t0);
      for (let k = 0; k < n; k++) z[k] = Math.fround(Math.fround(t0 * x1[k]!) + Math.fround(omt * z[k]!));
    }
    const latents = o.collectLatents ? [z.slice()] : [];
    t.prepared = now();
    for (let i = 0; i < o.steps; i++) {
      throwIfAborted(o.signal);
      const vcond = await ref.velocity(pos, o.positive.rows, z, h, w, sig[i]!);
      const vu = neg ? await ref.velocity(neg, o.negative!.rows, z, h, w, sig[i]!) : null;
      cfgEulerCpu(z, vcond, vu, o.guidance, Math.fround(sig[i + 1]! - sig[i]!));
      if (o.collectLatents) latents.push(z.slice());
      if (this.previewDue(o, i + 1)) {
        const px = previewRef(z, { channels: C, ...previewMap(C, vc.scaling_factor, vc.shift_factor) });
        o.onPreview!({
          step: i + 1,
          total: o.steps,
          width: w,
          height: h,
          rgba: new Uint8ClampedArray(px.buffer, px.byteOffset, px.byteLength),
        });
      }
      o.onStep?.(i + 1, o.steps);
    }
    t.stepped = now();
    throwIfAborted(o.signal);
    const image = await this.vae.decodeCpu(z, h, w);
    return this.result(o, image, latents, t);
  }

  private result(
    o: PaintOptions,
    image: Float32Array,
    latents: Float32Array[],
    t: { start: number; prepared: number; stepped: number },
  ): PaintResult {
    const end = now();
    return {
      width: o.width,
      height: o.height,
      rgb: toPixels(image, o.height, o.width),
      image,
      latents: o.collectLatents ? latents : undefined,
      timings: {
        prepareMs: t.prepared - t.start,
        stepsMs: t.stepped - t.prepared,
        vaeMs: end - t.stepped,
        totalMs: end - t.start,
      },
      engine: this.kind,
    };
  }

  /** Releases weights and sessions (after queued runs finish). */
  async dispose(): Promise<void> {
    if (!(await this.runs.close())) return;
    for (const c of this.negativeTexts.values()) c.dispose();
    this.negativeTexts.clear();
    this.engine?.dispose();
    await this.reference?.dispose();
    await this.vae.dispose();
  }
}

const cache = new DeviceCache<Painter>();

/**
 * The loaded painter for (pack, backend, kind, weights), shared (src/models/cache.ts); a new device loads it again,
 * and selecting another pack releases this pack's painters.
 */
export function getPainter(
  source: PackSource,
  choice: BackendChoice,
  opts: { kind?: PainterKind; weights?: WeightVariant } = {},
): Promise<Painter> {
  const kind = opts.kind ?? (choice.backend === 'webgpu' ? 'ours' : 'reference');
  cache.retainPrefix(`${source.id}\u0000`); // the painters of other packs are released first
  const key = [source.id, choice.backend, kind, opts.weights ?? 'f32'].join('\u0000');
  return cache.get(key, { device: choice.device ?? null }, () => Painter.load(source, choice, { ...opts, kind }));
}

/** Releases every cached painter. */
export function releasePainters(): Promise<void> {
  return cache.release();
}
