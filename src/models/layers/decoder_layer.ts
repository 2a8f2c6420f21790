/**
 * @file One pre-norm decoder layer on our kernels, the layer of the reasoner (Qwen2) and of the painter and its
 * connector (Phi-3), which run the same op sequence over the residual stream x:
 *
 *   rmsnorm → fused qkv matmul (+ bias) → RoPE on the q and k heads in place → split into the attention layouts →
 *   attention → o_proj, x += … → rmsnorm → fused gate/up matmul → SwiGLU → down, x += …
 *
 * What differs between the engines is a parameter: where K/V go and which keys a query sees (`DecoderKv`: the
 * reasoner's per-run cache that holds every key, or the painter's current rows over an optional cached condition
 * prefix with a causal or condition-causal mask), the number of sequences in the batch (the painter's CFG
 * branches), the qkv bias (in the weights), the matmul variant choice for decode-sized rows (`decode`) and the
 * painter's optional LongRoPE (`rope`).
 */
import type { GpuBatch } from '../../gpu/batch';
import { add } from '../../kernels/add';
import { attention, type AttentionShape } from '../../kernels/attention';
import { decodeMatmulVariant, matmul, type MatmulActivation } from '../../kernels/matmul';
import type { Precision } from '../../kernels/dispatch';
import { rmsnorm } from '../../kernels/rmsnorm';
import { rope } from '../../kernels/rope';
import { splitQkv } from '../../kernels/split_qkv';
import { swiglu } from '../../kernels/swiglu';
import { RgError } from '../../errors';
import type { LongRope } from './long_rope';
import type { DecoderLayerConfig, DecoderLayerWeights, GpuLinear } from './weights';

/** Per-layer scratch rows, reused by every layer and step (the queue runs the work in order). */
export interface DecoderScratch {
  normed: GPUBuffer;
  qkv: GPUBuffer;
  q: GPUBuffer;
  attnOut: GPUBuffer;
  tmp: GPUBuffer;
  gateUp: GPUBuffer;
  act: GPUBuffer;
}

/**
 * Allocates scratch for up to `rows` rows of the layers of every config in `configs` through `make` (floats,
 * label), which owns what it makes.
 */
export function decoderScratch(
  rows: number,
  configs: readonly DecoderLayerConfig[],
  make: (floats: number, label: string) => GPUBuffer,
): DecoderScratch {
  const most = (f: (c: DecoderLayerConfig) => number) => Math.max(...configs.map(f));
  const hidden = most((c) => c.hidden_size);
  const q = most((c) => c.num_attention_heads * c.head_dim);
  const inter = most((c) => c.intermediate_size);
  return {
    normed: make(rows * hidden, 'normed'),
    qkv: make(rows * most((c) => (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim), 'qkv'),
    q: make(rows * q, 'q'),
    attnOut: make(rows * q, 'attn out'),
    tmp: make(rows * hidden, 'tmp'),
    gateUp: make(rows * 2 * inter, 'gate_up'),
    act: make(rows * inter, 'act'),
  };
}

/**
 * out [M, lin.out] = x [M, lin.in] · Wᵀ (+ bias), f32 arithmetic unless `precision` asks for the tiled kernel's f16
 * tiles. With `decode` the matmul variant is the one for decode-sized M (GEMV or dot; decodeMatmulVariant),
 * otherwise the kernel's default for M.
 */
export function linear(
  batch: GpuBatch,
  x: GPUBuffer,
  lin: GpuLinear,
  out: GPUBuffer,
  M: number,
  opts: { activation?: MatmulActivation; decode?: boolean; precision?: Precision } = {},
): void {
  const K = lin.w.in;
  const variant = opts.decode ? decodeMatmulVariant(M, K, batch.device) : undefined;
  const { activation } = opts;
  const precision = opts.precision ?? 'f32';
  matmul(batch, { x, weight: lin.w, bias: lin.bias, out, M, K, activation, precision, variant });
}

/** Where a layer's keys and values go and which keys its queries see. */
export type DecoderKv =
  | {
      /**
       * Every key lives in the caches ([1, capacity, KV, head_dim], one sequence): the rows' K/V are written at
       * cache rows `at`…, and query i (position at + i) attends causally to cache rows 0 … at + i. Several rows
       * (a prompt, or a chunk of one after the chunks before it) or one row (a decode step) may sit anywhere.
       */
      kind: 'cache';
      cacheK: GPUBuffer;
      cacheV: GPUBuffer;
      capacity: number;
      at: number;
    }
  | {
      /**
       * The rows' K/V go to `k`, `v` ([sequences, rows, KV, head_dim]); the queries attend to an optional cached
       * prefix (`attention.cacheK`/`cacheV`, `cacheLens`, `cacheCapacity`) plus these rows under `attention.mask`.
       * With `kvOnly` the layer stops once K/V are written (the last layer of a K/V-only prefix pass).
       */
      kind: 'rows';
      k: GPUBuffer;
      v: GPUBuffer;
      kvOnly?: boolean;
      attention: Pick<AttentionShape, 'mask' | 'causalLen' | 'cacheLens' | 'cacheCapacity'> & {
        cacheK?: GPUBuffer;
        cacheV?: GPUBuffer;
      };
    };

export interface DecoderLayerArgs {
  weights: DecoderLayerWeights;
  config: DecoderLayerConfig;
  /** The residual stream F32 [sequences · rows, hidden], updated in place. */
  x: GPUBuffer;
  /** Rows per sequence. */
  rows: number;
  /** Sequences side by side in x (the painter's CFG branches); default 1. */
  sequences?: number;
  /** U32 [sequences · rows]: the RoPE position of every row. */
  pos: GPUBuffer;
  scratch: DecoderScratch;
  kv: DecoderKv;
  /** Pick the matmul variants for decode-sized rows (linear's `decode`). */
  decode?: boolean;
  /** The tiled matmuls' tile precision (linear's `precision`); default f32. */
  precision?: Precision;
  /** Phi-3's LongRoPE: one factor set per sequence and the cos/sin scale (long_rope.ts); default plain RoPE. */
  rope?: LongRope;
}

/** Encodes one decoder layer over x in place. See the file comment for the op sequence. */
export function decoderLayer(batch: GpuBatch, a: DecoderLayerArgs): void {
  const { weights: lw, config: c, x, rows: S, pos, scratch: s, kv, decode, precision } = a;
  const B = a.sequences ?? 1;
  const R = B * S;
  const Hd = c.hidden_size;
  const H = c.num_attention_heads;
  const KV = c.num_key_value_heads;
  const D = c.head_dim;
  rmsnorm(batch, { x, weight: lw.inputNorm, out: s.normed, rows: R, dim: Hd, eps: c.rms_norm_eps });
  linear(batch, s.normed, lw.qkv, s.qkv, R, { decode, precision });
  // RoPE on the q and k heads of each packed row (they are contiguous), in place.
  const rowStride = (H + 2 * KV) * D;
  rope(batch, { x: s.qkv, pos, tokens: R, heads: H + KV, headDim: D, theta: c.rope_theta, rowStride, ...a.rope });
  const heads = { headsQ: H, headsKV: KV, headDim: D };
  if (kv.kind === 'cache') {
    const { cacheK, cacheV, at } = kv;
    if (B !== 1) throw new RgError('INTERNAL', `decoder layer: a cache run holds one sequence, got ${B}`);
    let q: GPUBuffer;
    if (S === 1) {
      // One row: q is the row's first H·D floats already; k and v go to cache row `at`.
      q = s.qkv;
      const kvBytes = KV * D * 4;
      batch.encoder.copyBufferToBuffer(s.qkv, H * D * 4, cacheK, at * kvBytes, kvBytes);
      batch.encoder.copyBufferToBuffer(s.qkv, (H + KV) * D * 4, cacheV, at * kvBytes, kvBytes);
    } else {
      // A prompt, or one chunk of it: [1, S, KV, D] are rows at … at + S − 1 of the [1, capacity, KV, D] cache.
      q = s.q;
      splitQkv(batch, { qkv: s.qkv, q, k: cacheK, v: cacheV, rows: S, H, KV, D, kvRow: at });
    }
    // Every key is in the cache (seqK 0): query i sits at position at + i and sees cache rows 0 … at + i.
    attention(batch, {
      seqQ: S,
      seqK: 0,
      ...heads,
      mask: 'causal',
      cacheLens: at + S,
      cacheCapacity: kv.capacity,
      qOffset: at,
      q,
      k: cacheK,
      v: cacheV,
      cacheK,
      cacheV,
      out: s.attnOut,
    });
  } else {
    splitQkv(batch, { qkv: s.qkv, q: s.q, k: kv.k, v: kv.v, rows: R, H, KV, D });
    if (kv.kvOnly) return;
    const io = { q: s.q, k: kv.k, v: kv.v, out: s.attnOut };
    attention(batch, { ...kv.attention, batch: B, seqQ: S, seqK: S, ...heads, ...io });
  }
  linear(batch, s.attnOut, lw.o, s.tmp, R, { decode, precision });
  add(batch, { a: x, b: s.tmp, out: x, n: R * Hd });
  rmsnorm(batch, { x, weight: lw.postNorm, out: s.normed, rows: R, dim: Hd, eps: c.rms_norm_eps });
  linear(batch, s.normed, lw.gateUp, s.gateUp, R, { decode, precision });
  swiglu(batch, { x: s.gateUp, out: s.act, rows: R, inter: c.intermediate_size });
  linear(batch, s.act, lw.down, s.tmp, R, { decode, precision });
  add(batch, { a: x, b: s.tmp, out: x, n: R * Hd });
}
