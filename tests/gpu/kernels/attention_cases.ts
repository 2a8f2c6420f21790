/**
 * @file Attention test cases as data, shared by the flash and the naive kernel's tests, plus the runner that makes
 * seeded inputs, runs a kernel and compares it with the CPU twin. The tiled shader works in blocks of 64 query
 * rows × 16 keys; the split-keys (flash-decoding) path in chunks of about 64 keys (decodeSplits), four keys per
 * step, up to four query heads per invocation; so most sizes below are deliberately not multiples of them.
 * SPLIT_CASES are the decode-sized cases chosen for the chunking: one chunk (no merge), whole chunks, a ragged
 * last chunk, chunks past a shorter batch's keys, a chunk across the cache/current boundary, the chunk cap.
 */
import { expectClose, readF32, runBatch, type Buffers } from '../../helpers/gpu';
import { randomF32 } from '../../helpers/rng';
import type { GpuBatch } from '../../../src/gpu/batch';
import type { AttentionArgs, AttentionShape } from '../../../src/kernels/attention';
import { attentionRef } from '../../../src/kernels/attention.ref';

export interface AttentionCase extends AttentionShape {
  name: string;
}

export const CASES: AttentionCase[] = [
  // Masks × GQA ratio × head dim, prefill without cache.
  { name: 'causal, GQA 1, D 32, 70×70', mask: 'causal', seqQ: 70, seqK: 70, headsQ: 2, headsKV: 2, headDim: 32 },
  { name: 'full, GQA 2, D 64, 37×50', mask: 'full', seqQ: 37, seqK: 50, headsQ: 4, headsKV: 2, headDim: 64 },
  {
    name: 'cond (causalLen 20), GQA 4, D 128, 67×67',
    mask: 'cond',
    causalLen: 20,
    seqQ: 67,
    seqK: 67,
    headsQ: 4,
    headsKV: 1,
    headDim: 128,
  },
  { name: 'causal, GQA 2, D 128, 65×65', mask: 'causal', seqQ: 65, seqK: 65, headsQ: 4, headsKV: 2, headDim: 128 },
  { name: 'full, GQA 4, D 32, 9×33', mask: 'full', seqQ: 9, seqK: 33, headsQ: 4, headsKV: 1, headDim: 32 },
  {
    name: 'cond (causalLen 5), GQA 1, D 64, 23×23',
    mask: 'cond',
    causalLen: 5,
    seqQ: 23,
    seqK: 23,
    headsQ: 3,
    headsKV: 3,
    headDim: 64,
  },
  // Single-row decode after a cached prefix.
  {
    name: 'decode, causal, GQA 4, D 64, cache 45',
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: 45,
    headsQ: 4,
    headsKV: 1,
    headDim: 64,
  },
  {
    name: 'decode, causal, GQA 2, D 128, cache 100',
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: 100,
    headsQ: 2,
    headsKV: 1,
    headDim: 128,
  },
  {
    name: 'decode, full, GQA 1, D 32, cache 130',
    mask: 'full',
    seqQ: 1,
    seqK: 1,
    cacheLens: 130,
    headsQ: 2,
    headsKV: 2,
    headDim: 32,
  },
  { name: 'decode, no cache, D 64, 1×1', mask: 'causal', seqQ: 1, seqK: 1, headsQ: 2, headsKV: 1, headDim: 64 },
  // Cached prefix with more than one query: chunked prefill, and a painter step (condition in the cache).
  {
    name: 'prefill chunk, causal, cache 30, 12 new',
    mask: 'causal',
    seqQ: 12,
    seqK: 12,
    cacheLens: 30,
    headsQ: 4,
    headsKV: 2,
    headDim: 64,
  },
  {
    name: 'painter step, cond, cache 23 (causalLen 24), 41 new',
    mask: 'cond',
    causalLen: 24,
    seqQ: 41,
    seqK: 41,
    cacheLens: 23,
    headsQ: 2,
    headsKV: 2,
    headDim: 32,
  },
  {
    name: 'keys only from the cache, full, 5 queries',
    mask: 'full',
    seqQ: 5,
    seqK: 0,
    cacheLens: 19,
    headsQ: 2,
    headsKV: 1,
    headDim: 32,
  },
  // B = 2 (both CFG branches) with different cache lengths in a padded cache.
  {
    name: 'B 2, cond, caches 30 / 17 of 32, 20 new',
    batch: 2,
    mask: 'cond',
    causalLen: [31, 18],
    seqQ: 20,
    seqK: 20,
    cacheLens: [30, 17],
    cacheCapacity: 32,
    headsQ: 4,
    headsKV: 2,
    headDim: 64,
  },
  {
    name: 'B 2, decode, causal, caches 9 / 70 of 70',
    batch: 2,
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: [9, 70],
    headsQ: 4,
    headsKV: 1,
    headDim: 128,
  },
  {
    name: 'B 2, full, no cache, 66×19',
    batch: 2,
    mask: 'full',
    seqQ: 66,
    seqK: 19,
    headsQ: 2,
    headsKV: 1,
    headDim: 32,
  },
  // head_dim 16 (the tiny-random pack): prefill, decode, a cached prefix and GQA, one vec4 column group per row.
  { name: 'D 16, causal, GQA 2, 70×70', mask: 'causal', seqQ: 70, seqK: 70, headsQ: 4, headsKV: 2, headDim: 16 },
  {
    name: 'D 16, decode, causal, GQA 4, cache 61',
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: 61,
    headsQ: 4,
    headsKV: 1,
    headDim: 16,
  },
  {
    name: 'D 16, prefill chunk, causal, GQA 2, cache 29, 13 new',
    mask: 'causal',
    seqQ: 13,
    seqK: 13,
    cacheLens: 29,
    headsQ: 4,
    headsKV: 2,
    headDim: 16,
  },
  {
    name: 'D 16, B 2, decode, causal, GQA 1, caches 33 / 5 of 40',
    batch: 2,
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: [33, 5],
    cacheCapacity: 40,
    headsQ: 2,
    headsKV: 2,
    headDim: 16,
  },
  // Explicit query offset and scale.
  {
    name: 'qOffset 10, scale 0.3, causal, 7×20',
    mask: 'causal',
    seqQ: 7,
    seqK: 20,
    qOffset: 10,
    scale: 0.3,
    headsQ: 2,
    headsKV: 2,
    headDim: 32,
  },
];

/** A split-path case and how decodeSplits must cut its longest key sequence (the test checks it still does). */
export interface SplitCase extends AttentionCase {
  chunks: 'one' | 'whole' | 'ragged' | 'cap';
}

// OmniGen's head_dim 96 (24 vec4 of the kernels' 32-vec4 registers): prefill, the painter's condition-cached cond
// step, GQA 7:1 decode, and two batches.
CASES.push(
  { name: 'D 96, causal, GQA 2, 70×70', mask: 'causal', seqQ: 70, seqK: 70, headsQ: 4, headsKV: 2, headDim: 96 },
  {
    name: 'D 96, painter step, cond, cache 30 (causalLen 30), 66 new',
    mask: 'cond',
    causalLen: 30,
    seqQ: 66,
    seqK: 66,
    cacheLens: 30,
    headsQ: 3,
    headsKV: 3,
    headDim: 96,
  },
  {
    name: 'D 96, decode, causal, GQA 7, cache 77',
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: 77,
    headsQ: 7,
    headsKV: 1,
    headDim: 96,
  },
  {
    name: 'D 96, B 2, full, caches 12 / 40 of 40, 9 new',
    mask: 'full',
    batch: 2,
    seqQ: 9,
    seqK: 9,
    cacheLens: [12, 40],
    cacheCapacity: 40,
    headsQ: 2,
    headsKV: 1,
    headDim: 96,
  },
);

export const SPLIT_CASES: SplitCase[] = [
  // 50 keys: one chunk, the first pass writes `out` itself.
  {
    name: 'split: 1 chunk, causal, GQA 4, D 16, cache 49',
    chunks: 'one',
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: 49,
    headsQ: 8,
    headsKV: 2,
    headDim: 16,
  },
  // 128 keys: two whole chunks of 64.
  {
    name: 'split: 2 whole chunks, full, GQA 2, D 32, cache 127',
    chunks: 'whole',
    mask: 'full',
    seqQ: 1,
    seqK: 1,
    cacheLens: 127,
    headsQ: 4,
    headsKV: 2,
    headDim: 32,
  },
  // 201 keys: chunks of 52, the last one 45.
  {
    name: 'split: ragged last chunk, cond (causalLen 200), GQA 1, D 64, cache 198 + 3',
    chunks: 'ragged',
    mask: 'cond',
    causalLen: 200,
    seqQ: 3,
    seqK: 3,
    cacheLens: 198,
    headsQ: 3,
    headsKV: 3,
    headDim: 64,
  },
  // 301 keys for batch 0, 38 for batch 1: batch 1's later chunks are empty and must merge to nothing.
  {
    name: 'split: B 2, caches 300 / 37 of 310, causal, GQA 4, D 128',
    chunks: 'ragged',
    batch: 2,
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: [300, 37],
    cacheCapacity: 310,
    headsQ: 4,
    headsKV: 1,
    headDim: 128,
  },
  // 155 keys, the cache/current boundary (150) inside the last chunk; 5 causal rows with different last keys.
  {
    name: 'split: 5 causal rows across the cache boundary, GQA 2, D 16, cache 150 + 5',
    chunks: 'ragged',
    mask: 'causal',
    seqQ: 5,
    seqK: 5,
    cacheLens: 150,
    headsQ: 4,
    headsKV: 2,
    headDim: 16,
  },
  // Two head groups of four per kv head (GQA 8), and GQA 3 / 6 (one and two heads per invocation).
  {
    name: 'split: GQA 8, causal, D 32, cache 260',
    chunks: 'ragged',
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: 260,
    headsQ: 8,
    headsKV: 1,
    headDim: 32,
  },
  {
    name: 'split: GQA 3, full, D 16, cache 99',
    chunks: 'ragged',
    mask: 'full',
    seqQ: 1,
    seqK: 1,
    cacheLens: 99,
    headsQ: 6,
    headsKV: 2,
    headDim: 16,
  },
  {
    name: 'split: GQA 6, causal, D 64, cache 140',
    chunks: 'ragged',
    mask: 'causal',
    seqQ: 2,
    seqK: 2,
    cacheLens: 140,
    headsQ: 6,
    headsKV: 1,
    headDim: 64,
  },
  // B 2 with the painter's mask, a query offset inside the cache (re-scoring), keys only from the cache.
  {
    name: 'split: B 2, cond (causalLen 182 / 67), caches 180 / 65 of 190, 4 new, D 32',
    chunks: 'ragged',
    batch: 2,
    mask: 'cond',
    causalLen: [182, 67],
    seqQ: 4,
    seqK: 4,
    cacheLens: [180, 65],
    cacheCapacity: 190,
    headsQ: 4,
    headsKV: 2,
    headDim: 32,
  },
  {
    name: 'split: qOffset 40 inside a cache of 170, causal, GQA 2, D 64',
    chunks: 'ragged',
    mask: 'causal',
    seqQ: 2,
    seqK: 1,
    cacheLens: 170,
    qOffset: 40,
    headsQ: 2,
    headsKV: 1,
    headDim: 64,
  },
  {
    name: 'split: keys only from the cache (Sk 0), full, GQA 4, D 128, cache 133',
    chunks: 'ragged',
    mask: 'full',
    seqQ: 1,
    seqK: 0,
    cacheLens: 133,
    headsQ: 4,
    headsKV: 1,
    headDim: 128,
  },
  // 4301 keys: more than 64 chunks of 64 would be, so the chunks grow (68 keys, 64 of them, the last 17).
  {
    name: 'split: chunk cap, causal, GQA 2, D 16, cache 4300',
    chunks: 'cap',
    mask: 'causal',
    seqQ: 1,
    seqK: 1,
    cacheLens: 4300,
    headsQ: 2,
    headsKV: 1,
    headDim: 16,
  },
];

type Kernel = (batch: GpuBatch, args: AttentionArgs) => void;

/** Makes seeded inputs for `c`, runs `kernel`, and checks the output against attentionRef (1e-4 relative). */
export async function checkCase(
  device: GPUDevice,
  bufs: Buffers,
  c: AttentionCase,
  kernel: Kernel,
  extra: Partial<AttentionArgs> = {},
): Promise<void> {
  const B = c.batch ?? 1;
  const lens = c.cacheLens === undefined ? [0] : typeof c.cacheLens === 'number' ? [c.cacheLens] : c.cacheLens;
  const cap = c.cacheCapacity ?? Math.max(...lens);
  const nq = B * c.seqQ * c.headsQ * c.headDim;
  const nkv = B * c.seqK * c.headsKV * c.headDim;
  const nc = B * cap * c.headsKV * c.headDim;
  // Larger-than-unit inputs give peaky softmaxes, which is where online-softmax rescaling goes wrong if it does.
  const q = randomF32(nq, 1, -2, 2);
  const k = randomF32(nkv, 2, -2, 2);
  const v = randomF32(nkv, 3);
  const cacheK = randomF32(nc, 4, -2, 2);
  const cacheV = randomF32(nc, 5);
  const expected = attentionRef({ ...c, q, k, v, cacheK: cap ? cacheK : undefined, cacheV: cap ? cacheV : undefined });
  const out = bufs.empty(nq * 4);
  const gpuArgs: AttentionArgs = {
    ...c,
    q: bufs.upload(q),
    k: bufs.upload(nkv ? k : new Float32Array(4)),
    v: bufs.upload(nkv ? v : new Float32Array(4)),
    cacheK: cap ? bufs.upload(cacheK) : undefined,
    cacheV: cap ? bufs.upload(cacheV) : undefined,
    out,
    ...extra,
  };
  runBatch(device, (b) => kernel(b, gpuArgs));
  expectClose(await readF32(device, out, nq), expected);
}
