/**
 * @file Shapes, masks and per-batch cache lengths of attention, checked once and shared by the flash kernel, the
 * naive three-pass kernel and their CPU twin. See src/kernels/attention.ts for the layouts.
 */
import { KernelArgError } from '../errors';
import { need, needCount } from './dispatch';

/**
 * - `causal`: key position ≤ query position.
 * - `full`: every key.
 * - `cond`: the painter's condition-causal/image-full mask: a query at absolute position < `causalLen` is causal,
 *   a query at or after it sees every key.
 */
export type AttentionMask = 'causal' | 'full' | 'cond';

/**
 * The head dims the kernels are built for: any multiple of 4 up to 128 fits their tiling (registers sized for 128,
 * a tile of D/4 vec4 per key row); these are the ones tested against the twin (96: OmniGen's painter).
 */
export const ATTENTION_HEAD_DIMS: readonly number[] = [16, 32, 64, 96, 128];

export interface AttentionShape {
  /** B (default 1): independent sequences in one dispatch, e.g. the two CFG branches. */
  batch?: number;
  /** Sq: query tokens per batch. */
  seqQ: number;
  /** Sk: current key/value tokens per batch (may be 0 when a cache is given). */
  seqK: number;
  /** Hq: query heads. */
  headsQ: number;
  /** Hkv: key/value heads; must divide Hq (query head h uses kv head ⌊h / (Hq/Hkv)⌋). */
  headsKV: number;
  /** D: 16, 32, 64, 96 or 128 (ATTENTION_HEAD_DIMS). */
  headDim: number;
  mask: AttentionMask;
  /** For `cond`: the absolute position where full attention starts, one value or one per batch. */
  causalLen?: number | readonly number[];
  /** Valid cached-prefix lengths, one value or one per batch (default 0 = no cache). */
  cacheLens?: number | readonly number[];
  /** Rows per batch in the cache buffers (their padded length); default max(cacheLens). */
  cacheCapacity?: number;
  /** Absolute position of query 0, one value or one per batch; default the batch's cache length. */
  qOffset?: number | readonly number[];
  /** Score scale; default 1/√D. */
  scale?: number;
}

export interface BatchMeta {
  cacheLen: number;
  qOffset: number;
  /** Queries at or after this absolute position see every key (Infinity: causal, 0: full). */
  causalLen: number;
}

export interface ResolvedAttention {
  batch: number;
  seqQ: number;
  seqK: number;
  headsQ: number;
  headsKV: number;
  headDim: number;
  cacheCapacity: number;
  scale: number;
  /** Whether any batch reads a cached prefix (then the cache buffers are required). */
  hasCache: boolean;
  perBatch: BatchMeta[];
  /** The largest number of keys (cache + current) any batch sees. */
  maxKeys: number;
}

function perBatch(
  kernel: string,
  name: string,
  v: number | readonly number[] | undefined,
  B: number,
  dflt: number[],
): number[] {
  if (v === undefined) return dflt;
  const list = typeof v === 'number' ? new Array<number>(B).fill(v) : [...v];
  need(kernel, list.length === B, `${name} has ${list.length} entries but batch is ${B}`);
  list.forEach((x, b) => needCount(kernel, `${name}[${b}]`, x, true));
  return list;
}

/** Validates `s` (throwing KernelArgError named after `kernel`) and resolves the defaults. */
export function resolveAttention(kernel: string, s: AttentionShape): ResolvedAttention {
  const B = s.batch ?? 1;
  needCount(kernel, 'batch', B);
  needCount(kernel, 'seqQ', s.seqQ);
  needCount(kernel, 'headsQ', s.headsQ);
  needCount(kernel, 'headsKV', s.headsKV);
  need(kernel, s.headsQ % s.headsKV === 0, `headsQ (${s.headsQ}) is not a multiple of headsKV (${s.headsKV})`);
  need(
    kernel,
    ATTENTION_HEAD_DIMS.includes(s.headDim),
    `headDim ${s.headDim} is not supported (supported: ${ATTENTION_HEAD_DIMS.join(', ')})`,
  );
  const cacheLens = perBatch(kernel, 'cacheLens', s.cacheLens, B, new Array<number>(B).fill(0));
  const maxCache = Math.max(...cacheLens);
  const cap = s.cacheCapacity ?? maxCache;
  needCount(kernel, 'cacheCapacity', cap, true);
  need(kernel, maxCache <= cap, `cacheLens (max ${maxCache}) exceed cacheCapacity (${cap})`);
  needCount(kernel, 'seqK', s.seqK, maxCache > 0);
  need(kernel, s.seqK + maxCache > 0, 'there are no keys (seqK and cacheLens are all 0)');
  for (let b = 0; b < B; b++)
    need(kernel, cacheLens[b]! + s.seqK > 0, `batch ${b} has no keys (cacheLens[${b}] = 0 and seqK = 0)`);
  const qOffset = perBatch(kernel, 'qOffset', s.qOffset, B, cacheLens);
  let causalLen: number[];
  if (s.mask === 'causal') causalLen = new Array<number>(B).fill(Infinity);
  else if (s.mask === 'full') causalLen = new Array<number>(B).fill(0);
  else if (s.mask === 'cond') {
    need(kernel, s.causalLen !== undefined, "mask 'cond' needs causalLen");
    causalLen = perBatch(kernel, 'causalLen', s.causalLen, B, []);
  } else throw new KernelArgError(kernel, `unknown mask '${String(s.mask)}' (causal, full or cond)`);
  const scale = s.scale ?? 1 / Math.sqrt(s.headDim);
  need(kernel, Number.isFinite(scale), `scale must be finite, got ${scale}`);
  return {
    batch: B,
    seqQ: s.seqQ,
    seqK: s.seqK,
    headsQ: s.headsQ,
    headsKV: s.headsKV,
    headDim: s.headDim,
    cacheCapacity: cap,
    scale,
    hasCache: maxCache > 0,
    perBatch: cacheLens.map((cacheLen, b) => ({ cacheLen, qOffset: qOffset[b]!, causalLen: causalLen[b]! })),
    maxKeys: maxCache + s.seqK,
  };
}

/** Element counts of the tensors, for buffer-size checks. */
export function attentionSizes(r: ResolvedAttention): { q: number; kv: number; cache: number } {
  return {
    q: r.batch * r.seqQ * r.headsQ * r.headDim,
    kv: r.batch * r.seqK * r.headsKV * r.headDim,
    cache: r.batch * r.cacheCapacity * r.headsKV * r.headDim,
  };
}

/** Per-batch [cacheLen, qOffset, causalLen, 0] as u32 (Infinity becomes 0xffffffff), the kernels' `meta` buffer. */
export function attentionMeta(r: ResolvedAttention): Uint32Array<ArrayBuffer> {
  const m = new Uint32Array(r.batch * 4);
  r.perBatch.forEach((p, b) => m.set([p.cacheLen, p.qOffset, Math.min(p.causalLen, 0xffffffff), 0], b * 4));
  return m;
}
