/**
 * @file The reasoner's text decoder on our WGSL kernels (WebGPU), the counterpart of the painter engine: the same
 * Qwen2 network as `decoder_model_merged.onnx` (docs/formats.md, "Reasoner"), with the weights of the pack's
 * reasoner safetensors in f32, f16, bf16, int8 or int4, whole or in row shards (weights.ts). onnxruntime-web keeps
 * the vision encoder, the reference path and WASM.
 *
 * A run (`EngineRun`) owns its buffers: the activations (sized for the prompt), a K/V cache per layer sized to the
 * run's context ([1, capacity, kv heads, head_dim], the attention kernel's cache layout), the drawn ids (u32, one per
 * generation step) and a ring of 4-byte readback buffers. Everything a step does is encoded into one command
 * buffer, nothing is read back but the id:
 *
 * - prefill, in chunks of at most `prefillChunk` prompt rows (`prefillChunkRows`: 512, fewer where a chunk's scratch
 *   would not bind; the activations are sized for one chunk, so a 4,096-token prompt of a 7B-wide model fits),
 *   each: embed (prompt ids → rows; image-feature rows copied over the image tokens' rows) → layers over the chunk's
 *   rows (its K/V written straight into the caches at its rows by the q/k/v split; its queries see every cache row
 *   before them, causally) → every row appended to the
 *   hidden-state collector (the last layer's output before the final norm, MindOmni's condition, or after it with
 *   `condition_hidden: 'post_norm'`); after the last chunk: final norm → lm_head on the last row → `sample` → ids[0].
 * - decode step s (feeds token s, drawn by the previous step, at position P = promptLength + s): embed reads ids[s]
 *   on the GPU → per layer: norm, fused q/k/v GEMV, RoPE at P on q and k, k and v rows copied into the caches at
 *   row P, attention of the one query over cache rows 0…P, o_proj, residual, norm, fused gate/up GEMV, SwiGLU,
 *   down, residual → row appended to the collector → final norm → lm_head → `sample` → ids[s + 1].
 * - feed s (`encodeFeed`): the layers of decode step s without the draw, for the condition row of a stop token
 *   that has one (MindOmni's `</answer>`, after which MindOmni generates on to `<|im_end|>`).
 *
 * Each layer is the shared decoder layer (src/models/layers/decoder_layer.ts): x [R, hidden] is the residual
 * stream; its scratch rows are reused by every layer and step (the queue runs the steps in order, so reuse is safe
 * even when the caller queues steps ahead of the readback).
 */
import { RgError } from '../../errors';
import type { GpuBatch } from '../../gpu/batch';
import { emptyBuffer, uploadBuffer } from '../../gpu/readback';
import { embed } from '../../kernels/embed';
import { rmsnorm } from '../../kernels/rmsnorm';
import { sample } from '../../kernels/sample';
import type { ReasonerConfig } from '../../packs/manifest';
import { decoderLayer, decoderScratch, linear, type DecoderScratch } from '../layers/decoder_layer';
import type { HiddenCollector } from './hidden';
import { kernelSettings, type ResolvedSampling } from './sampling';
import type { ReasonerWeights } from './weights';
import { reasonerComputePrecision } from './precision';
import type { Precision } from '../../kernels/dispatch';
import { prefillChunkRows } from '../../packs/plan';

export interface EngineOptions {
  /** Prompt rows per prefill pass; default `prefillChunkRows` of the config on this device. */
  prefillChunk?: number;
}

/** The loaded engine of one pack on one device: the weights and the config. Runs hold the per-request buffers. */
export class ReasonerEngine {
  /** The tiled matmuls' tile precision (reasonerComputePrecision of the device and the weights' format). */
  readonly precision: Precision;
  /** Prompt rows per prefill pass (longer prompts run in chunks). */
  readonly prefillChunk: number;

  constructor(
    readonly device: GPUDevice,
    readonly weights: ReasonerWeights,
    readonly config: ReasonerConfig,
    options: EngineOptions = {},
  ) {
    this.precision = reasonerComputePrecision(device.features, weights.format);
    const chunk = options.prefillChunk ?? prefillChunkRows(config, device.limits.maxStorageBufferBindingSize);
    if (!(Number.isInteger(chunk) && chunk >= 1))
      throw new RgError('INTERNAL', `reasoner engine: prefill chunk ${String(chunk)} (a positive integer)`);
    this.prefillChunk = chunk;
  }

  /**
   * Allocates one generation's buffers: `promptIds` are uploaded, the caches hold `promptIds.length + maxNew`
   * positions (every drawn token can be fed back, the last one only for its condition row), the id buffer `maxNew`
   * ids, `readbacks` staging buffers.
   */
  run(promptIds: readonly number[], maxNew: number, readbacks: number): EngineRun {
    return new EngineRun(this, promptIds, maxNew, readbacks);
  }

  dispose(): void {
    this.weights.dispose();
  }
}

export class EngineRun {
  readonly promptLength: number;
  /** K/V cache rows per layer. */
  readonly capacity: number;
  private readonly bufs: GPUBuffer[] = [];
  private readonly c: ReasonerConfig;
  private readonly w: ReasonerWeights;
  private readonly device: GPUDevice;
  private readonly x: GPUBuffer;
  private readonly scratch: DecoderScratch;
  private readonly last: GPUBuffer;
  private readonly logits: GPUBuffer;
  private readonly promptIds: GPUBuffer;
  /** Rows per prefill chunk (the last may be shorter). */
  private readonly chunk: number;
  /** u32 positions of each prefill chunk's rows (a, a + 1, …). */
  private readonly chunkPos: GPUBuffer[];
  /** u32 [maxNew]: the id drawn at generation step s is element s. */
  private readonly ids: GPUBuffer;
  private readonly cacheK: GPUBuffer[];
  private readonly cacheV: GPUBuffer[];
  private readonly staging: GPUBuffer[];
  private readonly precision: Precision;
  private disposed = false;

  constructor(
    engine: ReasonerEngine,
    prompt: readonly number[],
    readonly maxNew: number,
    readbacks: number,
  ) {
    const c = engine.config;
    this.c = c;
    this.w = engine.weights;
    this.precision = engine.precision;
    const device = engine.device;
    this.device = device;
    const L = prompt.length;
    if (L < 1 || maxNew < 1 || readbacks < 1)
      throw new RgError('INTERNAL', `reasoner engine: prompt ${L}, maxNew ${maxNew}, readbacks ${readbacks}`);
    this.promptLength = L;
    this.chunk = Math.min(L, engine.prefillChunk);
    this.capacity = L + maxNew;
    if (this.capacity > c.max_position_embeddings)
      throw new RgError(
        'BAD_INPUT',
        `a prompt of ${L} tokens and ${maxNew} new ones need ${this.capacity} positions; ` +
          `reasoner.max_position_embeddings is ${c.max_position_embeddings}`,
        { field: 'maxNewTokens', hint: 'Ask for fewer new tokens or shorten the prompt.' },
      );
    const Hd = c.hidden_size;
    const KV = c.num_key_value_heads * c.head_dim;
    const mk = (floats: number, label: string) => {
      const b = emptyBuffer(device, floats * 4, `reasoner ${label}`);
      this.bufs.push(b);
      return b;
    };
    try {
      this.x = mk(this.chunk * Hd, 'x');
      this.scratch = decoderScratch(this.chunk, [c], mk);
      this.last = mk(Hd, 'last row');
      this.logits = mk(c.vocab_size, 'logits');
      this.ids = mk(maxNew, 'drawn ids');
      this.cacheK = Array.from({ length: c.num_hidden_layers }, (_, l) => mk(this.capacity * KV, `cacheK ${l}`));
      this.cacheV = Array.from({ length: c.num_hidden_layers }, (_, l) => mk(this.capacity * KV, `cacheV ${l}`));
      this.promptIds = uploadBuffer(device, Uint32Array.from(prompt), 'reasoner prompt ids');
      this.bufs.push(this.promptIds);
      this.chunkPos = [];
      for (let a = 0; a < L; a += this.chunk) {
        const n = Math.min(this.chunk, L - a);
        const b = uploadBuffer(
          device,
          Uint32Array.from({ length: n }, (_, i) => a + i),
          `reasoner positions ${a}…`,
        );
        this.bufs.push(b);
        this.chunkPos.push(b);
      }
      this.staging = Array.from({ length: readbacks }, (_, k) => {
        const b = device.createBuffer({
          label: `reasoner id readback ${k}`,
          size: 4,
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        });
        this.bufs.push(b);
        return b;
      });
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /**
   * One Qwen2 layer (the shared decoder layer) over the R rows of `x` in place, at positions `pos` (R u32 ids).
   * The K/V rows go to cache rows P…P + R − 1: a prefill chunk starting at prompt row P, or one decode row at P.
   */
  private layer(batch: GpuBatch, l: number, R: number, pos: GPUBuffer, P: number): void {
    decoderLayer(batch, {
      weights: this.w.layers[l]!,
      config: this.c,
      x: this.x,
      rows: R,
      pos,
      scratch: this.scratch,
      kv: { kind: 'cache', cacheK: this.cacheK[l]!, cacheV: this.cacheV[l]!, capacity: this.capacity, at: P },
      decode: true,
      precision: this.precision,
    });
  }

  /**
   * The R condition rows appended to `collector` (before or after the final norm, as the pack says), then, when
   * `step` is not null, the final norm, lm_head on the last row and the draw of `step` into ids[step].
   */
  private head(
    batch: GpuBatch,
    R: number,
    step: number | null,
    sampling: ResolvedSampling,
    collector: HiddenCollector | null,
  ): void {
    const { c, w } = this;
    const Hd = c.hidden_size;
    const preNorm = c.condition_hidden === 'pre_norm';
    if (preNorm) collector?.appendGpu(batch.encoder, this.x, R);
    if (step === null && preNorm) return;
    rmsnorm(batch, { x: this.x, weight: w.norm, out: this.scratch.normed, rows: R, dim: Hd, eps: c.rms_norm_eps });
    if (!preNorm) collector?.appendGpu(batch.encoder, this.scratch.normed, R);
    if (step === null) return;
    let last = this.scratch.normed;
    if (R > 1) {
      batch.encoder.copyBufferToBuffer(this.scratch.normed, (R - 1) * Hd * 4, this.last, 0, Hd * 4);
      last = this.last;
    }
    linear(batch, last, { w: w.lmHead }, this.logits, 1, { decode: true });
    sample(batch, {
      logits: this.logits,
      out: this.ids,
      outIndex: step,
      vocab: c.vocab_size,
      ...kernelSettings(sampling, step),
    });
    batch.encoder.copyBufferToBuffer(this.ids, step * 4, this.stagingOf(step), 0, 4);
  }

  private stagingOf(step: number): GPUBuffer {
    return this.staging[step % this.staging.length]!;
  }

  /**
   * Encodes the prefill and the draw of token 0. `imageRows` are copied over the embedded prompt rows before the
   * layers run: [source buffer, first prompt row, rows] (the vision encoder's features).
   */
  encodePrefill(
    batch: GpuBatch,
    sampling: ResolvedSampling,
    collector: HiddenCollector | null,
    imageRows: readonly [GPUBuffer, number, number][] = [],
  ): void {
    this.check();
    const { c, w } = this;
    const L = this.promptLength;
    const Hd = c.hidden_size;
    for (const [start, n] of imageRows.map(([, s, k]) => [s, k] as const))
      if (start + n > L)
        throw new RgError('INTERNAL', `reasoner engine: image rows ${start}+${n} beyond the prompt's ${L}`);
    this.chunkPos.forEach((pos, i) => {
      const a = i * this.chunk;
      const n = Math.min(this.chunk, L - a);
      embed(batch, {
        table: w.embed,
        ids: this.promptIds,
        idOffset: a,
        out: this.x,
        rows: n,
        dim: Hd,
        vocab: c.vocab_size,
      });
      // The part of each image's rows that falls in this chunk.
      for (const [src, start, k] of imageRows) {
        const from = Math.max(start, a);
        const to = Math.min(start + k, a + n);
        if (from < to)
          batch.encoder.copyBufferToBuffer(
            src,
            (from - start) * Hd * 4,
            this.x,
            (from - a) * Hd * 4,
            (to - from) * Hd * 4,
          );
      }
      w.layers.forEach((_, l) => this.layer(batch, l, n, pos, a));
      this.head(batch, n, a + n === L ? 0 : null, sampling, collector);
    });
  }

  /** Encodes decode step `s` ≥ 0: feeds token s (drawn on the GPU) and draws token s + 1. */
  encodeStep(batch: GpuBatch, s: number, sampling: ResolvedSampling, collector: HiddenCollector | null): void {
    this.feed(batch, s, s + 1 < this.maxNew ? s + 1 : -1, sampling, collector);
  }

  /** Encodes the feed of token `s` (drawn on the GPU) for its condition row only: nothing is drawn. */
  encodeFeed(batch: GpuBatch, s: number, sampling: ResolvedSampling, collector: HiddenCollector | null): void {
    this.feed(batch, s, null, sampling, collector);
  }

  private feed(
    batch: GpuBatch,
    s: number,
    draw: number | null,
    sampling: ResolvedSampling,
    collector: HiddenCollector | null,
  ): void {
    this.check();
    if (!(Number.isInteger(s) && s >= 0 && s < this.maxNew && draw !== -1))
      throw new RgError('INTERNAL', `reasoner engine: step ${s} of ${this.maxNew}`);
    const { c, w } = this;
    const P = this.promptLength + s;
    embed(batch, {
      table: w.embed,
      ids: this.ids,
      idOffset: s,
      out: this.x,
      rows: 1,
      dim: c.hidden_size,
      vocab: c.vocab_size,
    });
    const pos = batch.scratch(4, 'reasoner position');
    this.device.queue.writeBuffer(pos, 0, Uint32Array.of(P));
    w.layers.forEach((_, l) => this.layer(batch, l, 1, pos, P));
    this.head(batch, 1, draw, sampling, collector);
  }

  /** The id drawn at generation step `step` (waits for the GPU; reads back 4 bytes). */
  async read(step: number): Promise<number> {
    this.check();
    const s = this.stagingOf(step);
    await s.mapAsync(GPUMapMode.READ);
    try {
      return new Uint32Array(s.getMappedRange(0, 4))[0]!;
    } finally {
      s.unmap();
    }
  }

  /**
   * The logits of the last step the queue has run (F32 [vocab]; the buffer every step overwrites): for tests that
   * compare the precisions of the weights, after `read()` of that step.
   */
  async readLogits(): Promise<Float32Array> {
    this.check();
    const size = this.c.vocab_size * 4;
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(this.logits, 0, staging, 0, size);
      this.device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      return new Float32Array(staging.getMappedRange().slice(0));
    } finally {
      staging.destroy();
    }
  }

  private check(): void {
    if (this.disposed) throw new RgError('INTERNAL', 'reasoner engine: the run was disposed');
  }

  /** Destroys the run's buffers (work already queued keeps them alive until it is done). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.bufs) b.destroy();
    this.bufs.length = 0;
  }
}
