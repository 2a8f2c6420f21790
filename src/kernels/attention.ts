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
 * Two paths implement it: attention.wgsl tiles queries (64 rows per workgroup, two per invocation; K/V tiles of
 * 16 keys staged in workgroup memory) for prefill and painter steps. For decode (Sq = 1) and other very short query
 * blocks, flash-decoding: attention_decode.wgsl cuts each row's keys into chunks (about DECODE_KEYS_PER_SPLIT
 * each), one invocation per chunk and group of up to four query heads sharing a kv head, and writes per-chunk
 * partials (max, sum, accumulator) to a scratch buffer of the batch; attention_merge.wgsl combines them. When the
 * keys fit one chunk the first pass writes `out` itself and there is no merge. All f32 (no f16 variant yet).
 */
import type { GpuBatch } from '../gpu/batch';
import tiledCode from '../../shaders/attention.wgsl?raw';
import decodeCode from '../../shaders/attention_decode.wgsl?raw';
import mergeCode from '../../shaders/attention_merge.wgsl?raw';
import { flatGroups, need, needBytes } from './dispatch';
import {
  attentionMeta,
  attentionSizes,
  resolveAttention,
  type AttentionShape,
  type ResolvedAttention,
} from './attention_shape';

export type { AttentionMask, AttentionShape } from './attention_shape';
export { ATTENTION_HEAD_DIMS } from './attention_shape';

/** Query rows per workgroup of the tiled shader. */
const TILE_ROWS = 64;
/** Invocations per workgroup of the decode pass (one chunk × head group each). */
const DECODE_WG = 16;
/** Invocations per workgroup of the merge pass (one output vec4 each). */
const MERGE_WG = 64;
/** Up to this many query rows the split-keys (flash-decoding) path is used (a 64-row tile would be mostly idle). */
export const DECODE_MAX_ROWS = 8;
/** Keys per chunk of the decode pass, until DECODE_MAX_SPLITS chunks are reached (then chunks grow). */
export const DECODE_KEYS_PER_SPLIT = 64;
export const DECODE_MAX_SPLITS = 64;

/**
 * How the decode path cuts `keys` (the longest key sequence of any batch) into chunks: `splits` chunks of
 * `keysPerSplit` keys (a multiple of 4), the last one possibly shorter. One split means a single pass.
 */
export function decodeSplits(keys: number): { splits: number; keysPerSplit: number } {
  const want = Math.min(DECODE_MAX_SPLITS, Math.max(1, Math.ceil(keys / DECODE_KEYS_PER_SPLIT)));
  const keysPerSplit = Math.ceil(Math.ceil(keys / want) / 4) * 4;
  return { splits: Math.ceil(keys / keysPerSplit), keysPerSplit };
}

/** Query heads one decode invocation handles (they share a kv head): 4, 2 or 1, the largest dividing Hq / Hkv. */
export function decodeHeadGroup(headsQ: number, headsKV: number): number {
  const g = headsQ / headsKV;
  return g % 4 === 0 ? 4 : g % 2 === 0 ? 2 : 1;
}

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
    need(
      kernel,
      !!args.cacheK && !!args.cacheV,
      `cacheLens are set (max ${r.maxKeys - r.seqK}) but cacheK/cacheV are missing`,
    );
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
  const plan = splitKeys ? decodePlan(r, batch.device.limits.maxStorageBufferBindingSize) : undefined;
  const inputs = [args.q, args.k, args.v, args.cacheK ?? args.k, args.cacheV ?? args.v];
  const metaBuf = metaBuffer(batch, meta);
  if (plan) {
    encodeDecode(batch, r, plan, params, inputs, metaBuf, args.out);
  } else {
    const pipeline = batch.pipeline(`attention:d${r.headDim}`, tiledCode, { ROWS: TILE_ROWS, HEAD_DIM: r.headDim });
    const buffers = [...inputs, args.out, metaBuf, batch.uniform(params, 'attention params')];
    batch.dispatch(pipeline, buffers, [Math.ceil(r.seqQ / TILE_ROWS), r.headsQ, r.batch]);
  }
}

interface DecodePlan {
  splits: number;
  keysPerSplit: number;
  /** Query heads per invocation. */
  gh: number;
  /** Bytes of the partials buffer (0 with one split). */
  partialBytes: number;
}

/** The decode path's chunking, checked against the binding limit before anything is created. */
function decodePlan(r: ResolvedAttention, limit: number): DecodePlan {
  const { splits, keysPerSplit } = decodeSplits(r.maxKeys);
  const rows = r.batch * r.seqQ * r.headsQ;
  const partialBytes = splits === 1 ? 0 : rows * splits * (r.headDim / 4 + 1) * 16;
  need(
    'attention',
    partialBytes <= limit,
    `the decode partials need ${partialBytes} bytes, more than one binding holds (${limit})`,
  );
  return { splits, keysPerSplit, gh: decodeHeadGroup(r.headsQ, r.headsKV), partialBytes };
}

/** The flash-decoding passes: chunks of keys per invocation, then (for more than one chunk) the merge. */
function encodeDecode(
  batch: GpuBatch,
  r: ResolvedAttention,
  plan: DecodePlan,
  base: ArrayBuffer,
  inputs: GPUBuffer[],
  metaBuf: GPUBuffer,
  out: GPUBuffer,
): void {
  const { splits, keysPerSplit, gh } = plan;
  const direct = splits === 1;
  const params = new ArrayBuffer(32);
  new Uint8Array(params).set(new Uint8Array(base));
  new Uint32Array(params, 24, 2).set([splits, keysPerSplit]);
  const partials = direct ? out : batch.scratch(plan.partialBytes, 'attention partials');
  const pass1 = [...inputs, partials, metaBuf, batch.uniform(params, 'attention decode params')];
  const key = `attention_decode:d${r.headDim}:g${gh}:${direct ? 'direct' : 'split'}`;
  const pipeline = batch.pipeline(key, decodeCode, {
    WG: DECODE_WG,
    HEAD_DIM: r.headDim,
    GH: gh,
    DIRECT: direct ? 1 : 0,
  });
  batch.dispatch(pipeline, pass1, [Math.ceil((splits * r.headsQ) / gh / DECODE_WG), r.seqQ, r.batch]);
  if (direct) return;
  const n = r.batch * r.seqQ * r.headsQ * (r.headDim / 4);
  const { groups, stride } = flatGroups(n, MERGE_WG);
  const merge = batch.pipeline(`attention_merge:d${r.headDim}`, mergeCode, { WG: MERGE_WG, HEAD_DIM: r.headDim });
  const mergeParams = batch.uniform(new Uint32Array([n, stride, splits]), 'attention merge params');
  batch.dispatch(merge, [partials, out, mergeParams], groups);
}
