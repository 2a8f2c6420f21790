/**
 * @file The painter forward on our kernels: connector (Linear + Phi-3 layers, causal) and the OmniGen-style DiT over
 * [condition][time token][latent patches] (docs/formats.md "Connector + painter").
 *
 * Both CFG branches run as one batch B = 2 (branch 0 conditional, branch 1 unconditional). Their conditions have
 * different lengths Lc_b; every per-branch buffer is laid out with `cap` = max Lc_b rows per branch and branch b
 * uses its first Lc_b rows. Nothing is padded *into* another branch: a causal query at position i < Lc_b only sees
 * keys ≤ i, so the padding rows after Lc_b are never read by real rows, and the result equals two B = 1 runs.
 *
 * Condition K/V cache: condition tokens never attend to the time token or the latents, so their keys and values in
 * every painter layer are the same at every step. `encodePrefix` computes them once into `cacheK[l]`, `cacheV[l]`
 * ([B, cap, KV, d], exactly the attention kernel's cache layout); each step then runs only the 1 + N time and latent
 * tokens per branch, at RoPE positions Lc_b … Lc_b + N, attending to the cache (cacheLens = Lc_b) plus themselves
 * with the 'cond' mask (causalLen = Lc_b + 1). With LongRoPE the condition keys take the factor set of the whole
 * sequence (Lc_b + 1 + N positions), as MindOmni's first, uncached step computes them. Without the cache
 * (`useCache: false`, for the benchmark) the prefix is recomputed before every step, which is the work a
 * full-sequence forward does.
 *
 * Everything a step needs that does not depend on activations (timestep features of every step, temb, the adaLN
 * shift/scale of every step, the 2D position table, position ids) is computed at `prepare` time. The timestep
 * features and the 2D sin-cos table are computed once per request on the CPU in float64 (tables.ts) and uploaded:
 * they never change during a run.
 */
import type { GpuBatch } from '../../gpu/batch';
import { emptyBuffer, uploadBuffer } from '../../gpu/readback';
import type { ConnectorConfig, PainterConfig } from '../../packs/manifest';
import { RgError } from '../../errors';
import { assembleStep } from '../../kernels/assemble_step';
import { denoise } from '../../kernels/denoise';
import { layernorm } from '../../kernels/layernorm';
import { modulate } from '../../kernels/modulate';
import { patchify } from '../../kernels/patchify';
import { rmsnorm } from '../../kernels/rmsnorm';
import { unpatchify } from '../../kernels/unpatchify';
import { decoderLayer, decoderScratch, linear, type DecoderKv, type DecoderScratch } from '../layers/decoder_layer';
import { longRope, type LongRope } from '../layers/long_rope';
import type { DecoderLayerConfig, DecoderLayerWeights } from '../layers/weights';
import { posEmbed2d, timestepFeatures } from './tables';
import type { PainterWeights } from './weights';

/** A condition: the reasoner's hidden states [rows, hidden], on the GPU or the CPU. */
export interface Condition {
  readonly rows: number;
  readonly hidden: number;
  readonly buffer?: GPUBuffer | null;
  readonly cpu?: Float32Array | null;
  /** Byte offset of row 0 in `buffer` (default 0). */
  readonly byteOffset?: number;
}

export interface SessionOptions {
  /** Branch conditions: [positive] or [positive, negative]. */
  conditions: readonly Condition[];
  /** Latent height and width (image size / VAE downscale). */
  h: number;
  w: number;
  /** The timestep of every step (σ_0 … σ_{N−1}). */
  timesteps: ArrayLike<number>;
}

/** The loaded painter on one device: weights + configs. Sessions hold the per-request buffers. */
export class PainterEngine {
  constructor(
    readonly device: GPUDevice,
    readonly weights: PainterWeights,
    /** Null in a `cascade` pack: the condition rows are already the painter's (its own text embeddings). */
    readonly cc: ConnectorConfig | null,
    readonly pc: PainterConfig,
  ) {}

  /** Columns a condition row has: the connector's input, or the painter's hidden size without a connector. */
  get conditionWidth(): number {
    return this.cc ? this.cc.input_size : this.pc.hidden_size;
  }

  /** Allocates a request's buffers and uploads its tables; the caller disposes the session. */
  session(o: SessionOptions): PainterSession {
    return new PainterSession(this, o);
  }

  dispose(): void {
    this.weights.dispose();
  }
}

export class PainterSession {
  readonly B: number;
  readonly Lc: number[];
  readonly cap: number;
  readonly N: number;
  readonly steps: number;
  private readonly bufs: GPUBuffer[] = [];
  private readonly device: GPUDevice;
  private readonly cc: ConnectorConfig | null;
  private readonly pc: PainterConfig;
  private readonly w: PainterWeights;
  // per-request buffers
  private readonly condIn: GPUBuffer;
  private readonly cond: GPUBuffer;
  private readonly hiddenBuf: GPUBuffer;
  private readonly scratch: DecoderScratch;
  private readonly k: GPUBuffer;
  private readonly v: GPUBuffer;
  private readonly cacheK: GPUBuffer[];
  private readonly cacheV: GPUBuffer[];
  /** u32 position ids: condition rows (s) and step rows (Lc_b + s), per branch. */
  private readonly posPrefix: GPUBuffer;
  private readonly posStep: GPUBuffer;
  private readonly lat: GPUBuffer;
  private readonly lnOut: GPUBuffer;
  private readonly vel: GPUBuffer;
  private readonly tfeat: GPUBuffer;
  private readonly t1: GPUBuffer;
  private readonly t1Ada: GPUBuffer;
  private readonly temb: GPUBuffer;
  private readonly tembSilu: GPUBuffer;
  private readonly mod: GPUBuffer;
  private readonly pos: GPUBuffer;
  private readonly patches: GPUBuffer;
  private readonly xEmb: GPUBuffer;
  private readonly seq: GPUBuffer;
  private readonly out: GPUBuffer;
  /** LongRoPE per branch (undefined: plain RoPE): the connector over Lc_b positions, the DiT over Lc_b + 1 + N. */
  private readonly ropeConnector: LongRope | undefined;
  private readonly ropePainter: LongRope | undefined;
  private disposed = false;

  constructor(
    readonly engine: PainterEngine,
    readonly opts: SessionOptions,
  ) {
    const { device, cc, pc, weights } = engine;
    this.device = device;
    this.cc = cc;
    this.pc = pc;
    this.w = weights;
    const conds = opts.conditions;
    if (conds.length < 1 || conds.length > 2)
      throw new RgError('INTERNAL', `painter: 1 or 2 conditions, got ${conds.length}`);
    const width = engine.conditionWidth;
    for (const c of conds) {
      if (c.hidden !== width)
        throw new RgError(
          'INTERNAL',
          `painter: condition has ${c.hidden} columns, the ${cc ? 'connector' : 'painter'} takes ${width}`,
        );
      if (!(c.rows >= 1)) throw new RgError('INTERNAL', 'painter: empty condition');
    }
    const p = pc.patch_size;
    if (opts.h % p || opts.w % p)
      throw new RgError('INTERNAL', `painter: latent ${opts.h}x${opts.w} not a multiple of the patch ${p}`);
    this.B = conds.length;
    this.Lc = conds.map((c) => c.rows);
    this.cap = Math.max(...this.Lc);
    this.N = (opts.h / p) * (opts.w / p);
    this.steps = opts.timesteps.length;
    this.ropeConnector = cc ? longRope(cc, this.Lc) : undefined;
    this.ropePainter = longRope(
      pc,
      this.Lc.map((n) => n + 1 + this.N),
    );
    const D = pc.hidden_size;
    const B = this.B;
    const F = pc.latent_channels * p * p;
    const rows = Math.max(B * this.cap, B * (1 + this.N));
    const kvOf = (c: DecoderLayerConfig) => c.num_key_value_heads * c.head_dim;
    const layerConfigs = cc ? [cc, pc] : [pc];
    const kvMost = Math.max(...layerConfigs.map(kvOf));
    const mk = (elems: number, label: string) => {
      const b = emptyBuffer(device, elems * 4, `painter ${label}`);
      this.bufs.push(b);
      return b;
    };
    const up = (data: Float32Array, label: string) => {
      const b = uploadBuffer(device, data, `painter ${label}`);
      this.bufs.push(b);
      return b;
    };
    try {
      this.condIn = mk(B * this.cap * width, 'condition in');
      this.cond = mk(B * this.cap * D, 'condition');
      this.hiddenBuf = mk(B * this.cap * D, 'prefix hidden');
      this.scratch = decoderScratch(rows, layerConfigs, mk);
      this.k = mk(rows * kvMost, 'k');
      this.v = mk(rows * kvMost, 'v');
      this.cacheK = Array.from({ length: pc.num_hidden_layers }, (_, l) => mk(B * this.cap * kvOf(pc), `cacheK ${l}`));
      this.cacheV = Array.from({ length: pc.num_hidden_layers }, (_, l) => mk(B * this.cap * kvOf(pc), `cacheV ${l}`));
      const ids = (rowsPer: number, base: (b: number) => number) =>
        Uint32Array.from({ length: B * rowsPer }, (_, r) => base(Math.floor(r / rowsPer)) + (r % rowsPer));
      this.posPrefix = uploadBuffer(
        device,
        ids(this.cap, () => 0),
        'painter pos ids (condition)',
      );
      this.bufs.push(this.posPrefix);
      this.posStep = uploadBuffer(
        device,
        ids(1 + this.N, (b) => this.Lc[b]!),
        'painter pos ids (step)',
      );
      this.bufs.push(this.posStep);
      this.lat = mk(B * this.N * D, 'latent rows');
      this.lnOut = mk(B * this.N * D, 'final LN');
      this.vel = mk(B * pc.latent_channels * opts.h * opts.w, 'velocity');
      this.tfeat = up(timestepFeatures(opts.timesteps, pc), 'timestep features');
      this.t1 = mk(this.steps * D, 't1 (time token)');
      this.t1Ada = mk(this.steps * D, 't1 (adaLN)');
      this.temb = mk(this.steps * D, 'temb');
      this.tembSilu = mk(this.steps * D, 'silu(temb)');
      this.mod = mk(this.steps * 2 * D, 'adaLN');
      this.pos = up(posEmbed2d(opts.h / p, opts.w / p, pc), 'pos2d');
      this.patches = mk(this.N * F, 'patches');
      this.xEmb = mk(this.N * D, 'x embedded');
      this.seq = mk(B * (1 + this.N) * D, 'seq');
      this.out = mk(B * this.N * F, 'final out');
      // Conditions into their branch slots (GPU copies, or uploads for CPU data).
      const enc = device.createCommandEncoder({ label: 'painter conditions' });
      conds.forEach((c, b) => {
        const bytes = c.rows * c.hidden * 4;
        const dst = b * this.cap * width * 4;
        if (c.buffer) enc.copyBufferToBuffer(c.buffer, c.byteOffset ?? 0, this.condIn, dst, bytes);
        else if (c.cpu) device.queue.writeBuffer(this.condIn, dst, c.cpu.buffer, c.cpu.byteOffset, bytes);
        else throw new RgError('INTERNAL', 'painter: a condition has neither a buffer nor CPU data');
      });
      device.queue.submit([enc.finish()]);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** One Phi-3 layer (the shared decoder layer) over `x` [B·S, D] in place, both branches side by side. */
  private layer(
    batch: GpuBatch,
    weights: DecoderLayerWeights,
    config: DecoderLayerConfig,
    x: GPUBuffer,
    rows: number,
    pos: GPUBuffer,
    kv: DecoderKv,
    rope: LongRope | undefined,
  ): void {
    decoderLayer(batch, { weights, config, x, rows, sequences: this.B, pos, scratch: this.scratch, kv, rope });
  }

  /** K/V of the current rows into the session's k/v scratch, attention as `attention` says. */
  private rowsKv(attention: Extract<DecoderKv, { kind: 'rows' }>['attention']): DecoderKv {
    return { kind: 'rows', k: this.k, v: this.v, attention };
  }

  /**
   * Step-0 work that does not depend on the latents: the connector per branch (without one, the condition rows are
   * the painter's input as they are) and every step's temb / adaLN.
   */
  encodePrepare(batch: GpuBatch): void {
    const { cc, w, B, cap } = this;
    const connector = w.connector;
    if (!cc || !connector) {
      batch.encoder.copyBufferToBuffer(this.condIn, 0, this.cond, 0, B * cap * this.pc.hidden_size * 4);
    } else {
      linear(batch, this.condIn, connector.inputProj, this.hiddenBuf, B * cap);
      for (const lw of connector.layers) {
        const kv = this.rowsKv({ mask: 'causal' });
        this.layer(batch, lw, cc, this.hiddenBuf, cap, this.posPrefix, kv, this.ropeConnector);
      }
      if (connector.norm) {
        rmsnorm(batch, {
          x: this.hiddenBuf,
          weight: connector.norm,
          out: this.cond,
          rows: B * cap,
          dim: cc.hidden_size,
          eps: cc.rms_norm_eps,
        });
      } else {
        // MindOmni's connector ends with its last Phi-3 layer.
        batch.encoder.copyBufferToBuffer(this.hiddenBuf, 0, this.cond, 0, B * cap * cc.hidden_size * 4);
      }
    }
    // For every step: the time token = time_token(features) and the adaLN input silu(t_embedder(features)), each
    // l2(silu(l1(features))), silu applied by the matmul. A shared embedder gives the same weights to both.
    const { timeToken, tEmbedder } = w.painter;
    linear(batch, this.tfeat, timeToken.l1, this.t1, this.steps, { activation: 'silu' });
    linear(batch, this.t1, timeToken.l2, this.temb, this.steps);
    linear(batch, this.tfeat, tEmbedder.l1, this.t1Ada, this.steps, { activation: 'silu' });
    linear(batch, this.t1Ada, tEmbedder.l2, this.tembSilu, this.steps, { activation: 'silu' });
    linear(batch, this.tembSilu, w.painter.adaLN, this.mod, this.steps);
  }

  /** The condition K/V of every painter layer into the cache (condition tokens only, causal, positions 0…). */
  encodePrefix(batch: GpuBatch): void {
    const { pc, w, B, cap } = this;
    batch.encoder.copyBufferToBuffer(this.cond, 0, this.hiddenBuf, 0, B * cap * pc.hidden_size * 4);
    const L = w.painter.layers.length;
    w.painter.layers.forEach((lw, l) => {
      const kv: DecoderKv = {
        kind: 'rows',
        k: this.cacheK[l]!,
        v: this.cacheV[l]!,
        kvOnly: l === L - 1,
        attention: { mask: 'causal' },
      };
      this.layer(batch, lw, pc, this.hiddenBuf, cap, this.posPrefix, kv, this.ropePainter);
    });
  }

  /**
   * One step: velocity of the latents in `zIn` at timestep index `i` (both branches), combined and applied to
   * `zOut` in place: zOut += dt · (v_u + g · (v_c − v_u)) (or dt · v_c with one branch). zIn may be zOut.
   */
  encodeStep(batch: GpuBatch, i: number, zIn: GPUBuffer, zOut: GPUBuffer, guidance: number, dt: number): void {
    const { pc, w, B, N, cap, Lc } = this;
    if (!(i >= 0 && i < this.steps)) throw new RgError('INTERNAL', `painter: step ${i} of ${this.steps}`);
    const D = pc.hidden_size;
    const p = pc.patch_size;
    const C = pc.latent_channels;
    const { h, w: W } = this.opts;
    patchify(batch, { latents: zIn, tokens: this.patches, batch: 1, channels: C, height: h, width: W, patch: p });
    linear(batch, this.patches, w.painter.xEmbedder, this.xEmb, N);
    assembleStep(batch, { temb: this.temb, tembRow: i, xEmb: this.xEmb, pos: this.pos, out: this.seq, B, N, D });
    w.painter.layers.forEach((lw, l) => {
      const kv = this.rowsKv({
        mask: 'cond',
        causalLen: Lc.map((n) => n + 1),
        cacheLens: Lc,
        cacheCapacity: cap,
        cacheK: this.cacheK[l],
        cacheV: this.cacheV[l],
      });
      this.layer(batch, lw, pc, this.seq, 1 + N, this.posStep, kv, this.ropePainter);
    });
    const R = B * (1 + N);
    const normed = this.scratch.normed;
    rmsnorm(batch, { x: this.seq, weight: w.painter.norm, out: normed, rows: R, dim: D, eps: pc.rms_norm_eps });
    // The final layer sees only the latent rows of each branch: gather them into [B, N, D].
    for (let b = 0; b < B; b++) {
      batch.encoder.copyBufferToBuffer(normed, (b * (1 + N) + 1) * D * 4, this.lat, b * N * D * 4, N * D * 4);
    }
    layernorm(batch, { x: this.lat, out: this.lnOut, rows: B * N, dim: D, eps: pc.final_norm_eps });
    modulate(batch, {
      x: this.lnOut,
      shift: this.mod,
      scale: this.mod,
      shiftOffset: i * 2 * D,
      scaleOffset: i * 2 * D + D,
      rows: B * N,
      dim: D,
    });
    linear(batch, this.lnOut, w.painter.finalLinear, this.out, B * N);
    unpatchify(batch, { tokens: this.out, latents: this.vel, batch: B, channels: C, height: h, width: W, patch: p });
    const n = C * h * W;
    if (B > 1) denoise(batch, { z: zOut, n, dt, guidance, velocity: this.vel });
    else denoise(batch, { z: zOut, n, dt, velocity: this.vel });
  }

  /** Live buffers this session owns (for leak accounting in tests). */
  get bufferCount(): number {
    return this.bufs.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.bufs) b.destroy();
    this.bufs.length = 0;
  }
}
