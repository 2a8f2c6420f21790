/**
 * @file CPU twin of sample, and the definition of what the kernel computes. For a row of logits:
 *
 * 1. Order the tokens by (logit descending, id ascending); NaN counts as −∞ and −0 as +0.
 * 2. Greedy (temperature 0 or topK 1), or every logit −∞: the first token of that order.
 * 3. y = fround(fround(logit − max) · s), s = fround(log2 e / temperature): the log2 of the token's probability
 *    relative to the top one (y = 0 for tokens equal to the max). Tokens with y ≤ −24 are dropped (their relative
 *    probability is below 2⁻²⁴); the rest, the support, is a prefix of the order.
 * 4. Candidates: the first min(K, |support|) tokens of the support, K = topK, or 256 (SAMPLE_KMAX) when topK is 0
 *    or larger: temperature and top-p sampling never look past the 256 most likely tokens.
 * 5. Weights w = round(2²³ · 2^y) computed with integer arithmetic only (`expq23`), so the GPU and the CPU get the
 *    same integers; cumulative sums c_i (exact, below 2³¹).
 * 6. Top-p: keep the first m candidates, m the smallest with c_(m−1) ≥ ceil(round(topP · 2²⁴) · total / 2²⁴).
 * 7. Draw: r = Philox4x32-10(counter (step, 0, 0, 1), key (seed, 0)).r0, i.e. u = r / 2³² in [0, 1);
 *    target = floor(u · c_(m−1)); the answer is the first candidate with c_i > target.
 */
import { mulhi32, philox4x32_10 } from './philox';
import { SAMPLE_STREAM, sampleParams, type SampleSettings } from './sample_params';

const KEY_NEG_INF = 0x007fffff;
const KEY_POS_INF = 0xff800000;
const LN2_Q32 = 2977044472; // round(ln 2 · 2³²)

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The order-preserving u32 key of a logit (NaN → key of −∞, −0 → +0). */
export function sortKey(x: number): number {
  f32[0] = x;
  let b = u32[0]!;
  if ((b & 0x7fffffff) >>> 0 > 0x7f800000) return KEY_NEG_INF;
  if (b === 0x80000000) b = 0;
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}

function keyValue(k: number): number {
  u32[0] = k & 0x80000000 ? (k ^ 0x80000000) >>> 0 : ~k >>> 0;
  return f32[0]!;
}

/** round(2²³ · 2^y) for y in (−24, 0] with integer arithmetic only; 0 below. The twin of `expq23` in the WGSL. */
export function expq23(y: number): number {
  const a = -Math.floor(y * 2 ** 26);
  const n = Math.floor(a / 2 ** 26);
  if (n >= 24) return 0;
  const z = mulhi32(((a & 0x3ffffff) << 6) >>> 0, LN2_Q32);
  let t = 0x80000000;
  for (let k = 9; k >= 1; k--) t = 0x80000000 - mulhi32(Math.floor(z / k), t);
  const sh = 8 + n;
  return Math.floor((t + 2 ** (sh - 1)) / 2 ** sh);
}

export interface SampleRefArgs extends SampleSettings {
  vocab: number;
  row?: number;
}

/**
 * The first `k` of `ids` in the canonical order, sorted: a bounded heap with the worst kept candidate at the root,
 * so a 150k-token support costs O(V log k) instead of a full sort (this twin is also the WASM backend's sampler).
 */
function firstK(ids: number[], keys: Uint32Array, k: number): number[] {
  const before = (a: number, b: number) => keys[a]! > keys[b]! || (keys[a] === keys[b] && a < b);
  if (ids.length > k) {
    const heap: number[] = [];
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let w = i;
        if (l < heap.length && before(heap[w]!, heap[l]!)) w = l;
        if (r < heap.length && before(heap[w]!, heap[r]!)) w = r;
        if (w === i) return;
        [heap[i], heap[w]] = [heap[w]!, heap[i]!];
        i = w;
      }
    };
    for (const j of ids) {
      if (heap.length < k) {
        heap.push(j);
        for (let i = heap.length - 1; i > 0;) {
          const parent = (i - 1) >> 1;
          if (!before(heap[parent]!, heap[i]!)) break;
          [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
          i = parent;
        }
      } else if (before(j, heap[0]!)) {
        heap[0] = j;
        down(0);
      }
    }
    ids = heap;
  }
  return ids.sort((a, b) => (before(a, b) ? -1 : 1));
}

/** The id `sample` picks from row `row` of `logits` [rows, vocab]. */
export function sampleRef(logits: Float32Array, args: SampleRefArgs): number {
  const sp = sampleParams('sample', args);
  const V = args.vocab;
  const row = logits.subarray((args.row ?? 0) * V, ((args.row ?? 0) + 1) * V);
  const keys = new Uint32Array(V);
  let top = 0;
  for (let j = 0; j < V; j++) {
    keys[j] = sortKey(row[j]!);
    if (keys[j]! > keys[top]!) top = j;
  }
  const km = keys[top]!;
  if (sp.greedy || km === KEY_NEG_INF) return top;

  const log2Weight = (k: number) => {
    if (k === km) return 0;
    if (k <= KEY_NEG_INF || km === KEY_POS_INF) return -Infinity;
    return Math.fround(Math.fround(keyValue(k) - keyValue(km)) * sp.s);
  };
  const support: number[] = [];
  for (let j = 0; j < V; j++) if (log2Weight(keys[j]!) > -24) support.push(j);
  const cands = firstK(support, keys, sp.k);
  const cum: number[] = [];
  let total = 0;
  for (const j of cands) {
    total += expq23(log2Weight(keys[j]!));
    cum.push(total);
  }
  const thr = Number((BigInt(sp.topPQ) * BigInt(total) + 0xffffffn) >> 24n) || 1;
  const m = cum.findIndex((c) => c >= thr);
  const r = philox4x32_10([sp.step, 0, 0, SAMPLE_STREAM], [sp.seed, 0])[0]!;
  const goal = mulhi32(r, cum[m]!);
  return cands[cum.findIndex((c) => c > goal)]!;
}
