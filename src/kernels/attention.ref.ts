/**
 * @file CPU twin of attention (and of attention_naive): plain loops in double precision over the same layouts,
 * masks and per-batch cache lengths as the GPU kernels. See src/kernels/attention.ts for the layouts.
 */
import { resolveAttention, type AttentionShape } from './attention_shape';

export interface AttentionRefArgs extends AttentionShape {
  /** [B, Sq, Hq, D] */
  q: Float32Array;
  /** [B, Sk, Hkv, D] (the current tokens) */
  k: Float32Array;
  v: Float32Array;
  /** [B, cacheCapacity, Hkv, D] (the cached prefix, batch b valid up to cacheLens[b]) */
  cacheK?: Float32Array;
  cacheV?: Float32Array;
}

/** O [B, Sq, Hq, D] = softmax(mask(scale · Q Kᵀ)) V, per batch and head, keys = cached prefix then current. */
export function attentionRef(args: AttentionRefArgs): Float32Array {
  const r = resolveAttention('attentionRef', args);
  const { batch: B, seqQ: Sq, seqK: Sk, headsQ: Hq, headsKV: Hkv, headDim: D, cacheCapacity: cap, scale } = r;
  const group = Hq / Hkv;
  const out = new Float32Array(B * Sq * Hq * D);
  const scores = new Float64Array(cap + Sk);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const { cacheLen, qOffset, causalLen } = r.perBatch[b]!;
    const total = cacheLen + Sk;
    for (let i = 0; i < Sq; i++) {
      const qpos = qOffset + i;
      for (let h = 0; h < Hq; h++) {
        const hk = Math.floor(h / group);
        const qBase = ((b * Sq + i) * Hq + h) * D;
        let max = -Infinity;
        for (let p = 0; p < total; p++) {
          if (!(p <= qpos || qpos >= causalLen)) {
            scores[p] = -Infinity;
            continue;
          }
          const [src, base] = keyRow(args.k, args.cacheK, b, p, cacheLen, cap, Sk, Hkv, hk, D);
          let s = 0;
          for (let d = 0; d < D; d++) s += args.q[qBase + d]! * src[base + d]!;
          s *= scale;
          scores[p] = s;
          if (s > max) max = s;
        }
        acc.fill(0);
        let sum = 0;
        for (let p = 0; p < total; p++) {
          if (scores[p] === -Infinity) continue;
          const w = Math.exp(scores[p]! - max);
          sum += w;
          const [src, base] = keyRow(args.v, args.cacheV, b, p, cacheLen, cap, Sk, Hkv, hk, D);
          for (let d = 0; d < D; d++) acc[d] += w * src[base + d]!;
        }
        for (let d = 0; d < D; d++) out[qBase + d] = sum > 0 ? acc[d]! / sum : 0;
      }
    }
  }
  return out;
}

function keyRow(
  cur: Float32Array,
  cache: Float32Array | undefined,
  b: number,
  p: number,
  cacheLen: number,
  cap: number,
  Sk: number,
  Hkv: number,
  hk: number,
  D: number,
): [Float32Array, number] {
  if (p < cacheLen) return [cache!, ((b * cap + p) * Hkv + hk) * D];
  return [cur, ((b * Sk + (p - cacheLen)) * Hkv + hk) * D];
}
