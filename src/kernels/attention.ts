/**
 * @file attention: flash attention (online softmax, K/V tiles in workgroup memory, no Sq × Sk matrix anywhere)
 * with causal, full and condition-causal masks, grouped-query heads, a batch dimension and a cached K/V prefix
 * whose length may differ per batch.
 *
 * Layouts (all f32, row-major; B = batch, D = headDim):
 * - `q`, `out`: [B, Sq, Hq, D] (tokens × heads × head_dim per batch).
 * - `k`, `v`: the current tokens, [B, Sk, Hkv, D].
 * - `cacheK`, `cacheV` (optional): the cached prefix, [B, cacheCapacity, Hkv, D]. Every batch is padded to
 *   `cacheCapacity` rows; batch b uses rows 0..cacheLens[b]-1 (the two CFG branches have conditions of different
 *   lengths, so their caches are padded to the longer one and `cacheLens` says how much of each is real).
 * - Key positions of batch b: the prefix first (0..cacheLens[b]-1), then the current tokens
 *   (cacheLens[b]..cacheLens[b]+Sk-1). Query i of batch b sits at absolute position qOffset[b] + i
 *   (default qOffset[b] = cacheLens[b]: the queries are the current tokens).
 * - Query head h reads kv head ⌊h / (Hq / Hkv)⌋.
 * - The per-batch numbers travel to the GPU in a small storage buffer `meta` ([cacheLen, qOffset, causalLen, 0]
 *   per batch), so one dispatch covers both CFG branches.
 *
 * Masks: `causal` (key position ≤ query position), `full`, and `cond` with `causalLen` (per batch or one value):
 * queries at absolute position < causalLen are causal, the others see every key — the painter's sequence
 * [condition][time][latents] uses causalLen = condition length + 1.
 *
 * Two shaders implement it: attention.wgsl tiles queries (64 rows per workgroup, two per invocation; K/V tiles of
 * 16 keys staged in workgroup memory) for prefill and painter steps; attention_decode.wgsl gives each query row
 * its own workgroup and splits the keys across its invocations, for decode (Sq = 1) and other very short query
 * blocks. Both are f32 only (no f16 variant yet).
 */
import type { GpuBatch } from '../gpu/batch';
import tiledCode from '../../shaders/attention.wgsl?raw';
import decodeCode from '../../shaders/attention_decode.wgsl?raw';
import { need, needBytes } from './dispatch';
import { attentionMeta, attentionSizes, resolveAttention, type AttentionShape, type ResolvedAttention } from './attention_shape';

export type { AttentionMask, AttentionShape } from './attention_shape';
export { ATTENTION_HEAD_DIMS } from './attention_shape';

/** Query rows per workgroup of the tiled shader. */
const TILE_ROWS = 64;
/** Invocations of the split-keys shader (its merge buffer is 16 · headDim · 4 bytes: 8 KiB at head_dim 128). */
const DECODE_WG = 16;
/** Up to this many query rows the split-keys shader is used (a 64-row tile would be mostly idle). */
export const DECODE_MAX_ROWS = 8;

export type AttentionPath = 'auto' | 'tiled' | 'split-keys';

export interface AttentionArgs extends AttentionShape {
  /** [B, Sq, Hq, D] */
  q: GPUBuffer;
  /** [B, Sk, Hkv, D] */
  k: GPUBuffer;
  /** [B, Sk, Hkv, D] */
  v: GPUBuffer;
  /** [B, cacheCapacity, Hkv, D]; required when any cacheLens[b] > 0. */
  cacheK?: GPUBuffer;
  cacheV?: GPUBuffer;
  /** [B, Sq, Hq, D]; must not be one of the inputs. */
  out: GPUBuffer;
  /** Which shader to use; 'auto' (default) picks split-keys for Sq ≤ DECODE_MAX_ROWS. */
  path?: AttentionPath;
}

/**
 * Checks buffers against the resolved shape (throwing KernelArgError before anything is encoded) and returns the
 * `meta` and `Params` contents both attention shaders and the naive one share.
 */
export function checkAttentionBuffers(
  kernel: string,
  args: AttentionArgs,
): { r: ResolvedAttention; params: ArrayBuffer; meta: Uint32Array<ArrayBuffer> } {
  const r = resolveAttention(kernel, args);
  const n = attentionSizes(r);
  needBytes(kernel, 'q', args.q, n.q * 4);
  needBytes(kernel, 'out', args.out, n.q * 4);
  needBytes(kernel, 'k', args.k, n.kv * 4);
  needBytes(kernel, 'v', args.v, n.kv * 4);
  if (r.hasCache) {
    need(kernel, !!args.cacheK && !!args.cacheV, `cacheLens are set (max ${r.maxKeys - r.seqK}) but cacheK/cacheV are missing`);
    needBytes(kernel, 'cacheK', args.cacheK!, n.cache * 4);
    needBytes(kernel, 'cacheV', args.cacheV!, n.cache * 4);
  }
  for (const name of ['q', 'k', 'v', 'cacheK', 'cacheV'] as const) {
    need(kernel, args[name] !== args.out, `out must not be the same buffer as ${name}`);
  }
  const params = new ArrayBuffer(24);
  new Uint32Array(params, 0, 5).set([r.seqQ, r.seqK, r.headsQ, r.headsKV, r.cacheCapacity]);
  new Float32Array(params, 20, 1)[0] = r.scale;
  return { r, params, meta: attentionMeta(r) };
}

/** Uploads `meta` into a transient storage buffer of `batch` (written before the batch's commands run). */
export function metaBuffer(batch: GpuBatch, meta: Uint32Array<ArrayBuffer>): GPUBuffer {
  const buf = batch.scratch(meta.byteLength, 'attention meta');
  batch.device.queue.writeBuffer(buf, 0, meta);
  return buf;
}

/** Encodes attention into `batch`. See the file comment for layouts and masks. */
export function attention(batch: GpuBatch, args: AttentionArgs): void {
  const { r, params, meta } = checkAttentionBuffers('attention', args);
  const path = args.path ?? 'auto';
  const splitKeys = path === 'split-keys' || (path === 'auto' && r.seqQ <= DECODE_MAX_ROWS);
  const buffers = [
    args.q,
    args.k,
    args.v,
    args.cacheK ?? args.k,
    args.cacheV ?? args.v,
    args.out,
    metaBuffer(batch, meta),
    batch.uniform(params, 'attention params'),
  ];
  if (splitKeys) {
    const pipeline = batch.pipeline(`attention_decode:d${r.headDim}`, decodeCode, { WG: DECODE_WG, HEAD_DIM: r.headDim });
    batch.dispatch(pipeline, buffers, [r.seqQ, r.headsQ, r.batch]);
  } else {
    const pipeline = batch.pipeline(`attention:d${r.headDim}`, tiledCode, { ROWS: TILE_ROWS, HEAD_DIM: r.headDim });
    batch.dispatch(pipeline, buffers, [Math.ceil(r.seqQ / TILE_ROWS), r.headsQ, r.batch]);
  }
}
