// sample: one token id from a row of logits (greedy, temperature, top-k, top-p, seeded), written as one u32 so
// that only 4 bytes are read back. Compiled after philox.wgsl. The semantics, which the CPU twin
// (src/kernels/sample.ref.ts) spells out step by step, are integer-exact so that the GPU and the twin pick the
// same id for the same seed:
//   order      logits by (value descending, id ascending); NaN counts as -inf, -0 as +0;
//   greedy     the first id in that order;
//   support    y = (logit - max) * s (two f32 roundings, s = log2(e) / T from the uniforms); tokens with y <= -24
//              have a weight below 2^-24 and are dropped; the support is a prefix of the order;
//   candidates the first min(K, |support|) of the support, K = top-k (at most WG = 256);
//   weights    w = 2^y in 23-bit fixed point, evaluated with integer arithmetic only (expq23);
//   top-p      keep the shortest prefix whose cumulative weight reaches ceil(topPQ * total / 2^24);
//   draw       r = Philox4x32-10(counter (step, 0, 0, 1), key (seed, 0)).x, goal = floor(r * kept / 2^32), and
//              the first candidate whose cumulative weight exceeds goal.
//
// One workgroup of WG invocations does everything, because the result is one id and V (up to ~150k) is small
// next to a GPU: each invocation walks the row with stride WG (coalesced), and workgroup memory holds the rest.
//   1. argmax: per-invocation best (key, id), then a tree reduction. Greedy settings stop here (entry `greedy`).
//   2. |support|: per-invocation counts, tree sum. If it exceeds K, a radix select finds the K-th largest key T:
//      four passes over the row, each building a 256-bin histogram of one byte of the keys that match the bytes
//      already chosen (only support tokens touch the histogram, which keeps atomic contention low). Ties at T are
//      broken by id with a second radix select, over the id bytes, among the tokens whose key is T.
//   3. collect: the exactly min(K, |support|) tokens with key > T, or key = T and id <= the id bound, are appended
//      in any order, then bitonic-sorted in workgroup memory into the canonical order.
//   4. weights, inclusive prefix sum (Hillis-Steele), top-p cut and the draw, the last by invocation 0.

struct Params {
  vocab: u32,
  offset: u32,     // first element of the row in `logits`
  out_index: u32,
  greedy: u32,
  k: u32,          // top-k, 1..WG
  top_p_q: u32,    // round(top_p * 2^24)
  seed: u32,
  step: u32,
  s: f32,          // log2(e) / temperature
  id_bytes: u32,   // bytes needed to hold vocab - 1 (radix passes of the tie break)
}

override WG: u32 = 256;           // workgroup size = most candidates (SAMPLE_KMAX in sample_params.ts)
override SAMPLE_STREAM: u32 = 1u; // Philox counter word c3 of the draw (SAMPLE_STREAM in sample_params.ts)

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

const KEY_NEG_INF: u32 = 0x007FFFFFu; // key of -inf (and NaN)
const KEY_POS_INF: u32 = 0xFF800000u;
const LN2_Q32: u32 = 2977044472u;     // round(ln 2 * 2^32)

var<workgroup> red_key: array<u32, WG>;
var<workgroup> red_id: array<u32, WG>;
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> cand_key: array<u32, WG>;
var<workgroup> cand_id: array<u32, WG>;
var<workgroup> cum: array<u32, WG>;
var<workgroup> n_cand: atomic<u32>;
var<workgroup> sel_prefix: u32;
var<workgroup> sel_need: u32;
var<workgroup> sel_count: u32;

// An order-preserving u32 of a logit: larger logit, larger key. NaN maps to -inf, -0 to +0.
fn sort_key(x: f32) -> u32 {
  var b = bitcast<u32>(x);
  if ((b & 0x7FFFFFFFu) > 0x7F800000u) {
    return KEY_NEG_INF;
  }
  if (b == 0x80000000u) {
    b = 0u;
  }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn key_value(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k ^ 0x80000000u, (k & 0x80000000u) != 0u));
}

fn row_key(j: u32) -> u32 {
  return sort_key(logits[p.offset + j]);
}

// True when a has priority over b in the canonical order.
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}

// log2 of the relative probability of key k given the largest key km; -100 stands for "no weight".
fn log2_weight(k: u32, km: u32) -> f32 {
  if (k == km) {
    return 0.0f;
  }
  if (k <= KEY_NEG_INF || km == KEY_POS_INF) {
    return -100.0f;
  }
  return (key_value(k) - key_value(km)) * p.s;
}

fn in_support(k: u32, km: u32) -> bool {
  return log2_weight(k, km) > -24.0f;
}

fn clear_hist(tid: u32) {
  for (var b = tid; b < 256u; b += WG) {
    atomicStore(&hist[b], 0u);
  }
}

// mulhi32 comes from philox.wgsl.
// round(2^23 * 2^y) for y in (-24, 0], integers only: y = -(n + f / 2^26) (exact for |y| >= 1/4, since
// y * 2^26 is then an integer); 2^(-f/2^26) = e^(-z), z = f ln2 / 2^26 in Q32, by the nested Taylor form
// 1 - z(1 - z/2(1 - z/3(...))) to degree 9 in Q31 with truncating fixed-point products. Within one unit.
fn expq23(y: f32) -> u32 {
  let a = u32(-i32(floor(y * 67108864.0f)));
  let n = a >> 26u;
  if (n >= 24u) {
    return 0u;
  }
  let z = mulhi32((a & 0x3FFFFFFu) << 6u, LN2_Q32);
  var t = 0x80000000u;
  for (var i = 0u; i < 9u; i++) {
    t = 0x80000000u - mulhi32(z / (9u - i), t);
  }
  let sh = 8u + n;
  return (t + (1u << (sh - 1u))) >> sh;
}

// 1. argmax: per-invocation best (key, id), then a tree reduction; returns the largest key, its id in red_id[0].
fn argmax(tid: u32, V: u32) -> u32 {
  var best_k = 0u;
  var best_i = 0xFFFFFFFFu;
  for (var j = tid; j < V; j += WG) {
    let k = row_key(j);
    if (before(k, j, best_k, best_i)) {
      best_k = k;
      best_i = j;
    }
  }
  red_key[tid] = best_k;
  red_id[tid] = best_i;
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    workgroupBarrier();
    if (tid < h && before(red_key[tid + h], red_id[tid + h], red_key[tid], red_id[tid])) {
      red_key[tid] = red_key[tid + h];
      red_id[tid] = red_id[tid + h];
    }
  }
  return workgroupUniformLoad(&red_key[0]);
}

// Greedy settings only: step 1 alone. A pipeline of its own because a CPU adapter compiles every barrier of the
// full kernel below (SwiftShader: about 1 s for this entry point against 2-5 s for `main`), and greedy is the
// default; `main` gives the same id for greedy settings.
@compute @workgroup_size(WG)
fn greedy(@builtin(local_invocation_index) tid: u32) {
  argmax(tid, p.vocab);
  if (tid == 0u) {
    out[p.out_index] = red_id[0];
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32) {
  let V = p.vocab;

  let km = argmax(tid, V);
  if (p.greedy != 0u || km == KEY_NEG_INF) {
    if (tid == 0u) {
      out[p.out_index] = red_id[0];
    }
    return;
  }

  // 2. support size, and the K-th largest key when the support is larger than K
  var cnt = 0u;
  for (var j = tid; j < V; j += WG) {
    cnt += select(0u, 1u, in_support(row_key(j), km));
  }
  workgroupBarrier();
  red_key[tid] = cnt;
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    workgroupBarrier();
    if (tid < h) {
      red_key[tid] += red_key[tid + h];
    }
  }
  let n_support = workgroupUniformLoad(&red_key[0]);
  let kk = min(p.k, n_support);
  var thr_key = 0u;          // take keys > thr_key ...
  var thr_id = 0u;           // ... and keys == thr_key with id <= thr_id
  if (n_support > p.k) {
    var prefix = 0u;
    var need = p.k;
    var ties = 0u;
    for (var ps = 0u; ps < 4u; ps++) {
      let shift = 24u - 8u * ps;
      let mask = ~(0xFFFFFFFFu >> (8u * ps)); // the bytes above this one
      clear_hist(tid);
      workgroupBarrier();
      for (var j = tid; j < V; j += WG) {
        let k = row_key(j);
        if ((k & mask) == prefix && in_support(k, km)) {
          atomicAdd(&hist[(k >> shift) & 0xFFu], 1u);
        }
      }
      workgroupBarrier();
      if (tid == 0u) {
        var above = 0u;
        var d = 255u;
        loop {
          let c = atomicLoad(&hist[d]);
          if (above + c >= need || d == 0u) {
            sel_count = c;
            break;
          }
          above += c;
          d -= 1u;
        }
        sel_prefix = prefix | (d << shift);
        sel_need = need - above;
      }
      prefix = workgroupUniformLoad(&sel_prefix);
      need = workgroupUniformLoad(&sel_need);
      ties = workgroupUniformLoad(&sel_count);
    }
    thr_key = prefix;
    thr_id = 0xFFFFFFFFu;
    if (ties > need) {
      // The need-th smallest id among the tokens whose key is thr_key, byte by byte from the top.
      var id_prefix = 0u;
      for (var ps = 4u - p.id_bytes; ps < 4u; ps++) {
        let shift = 24u - 8u * ps;
        let mask = ~(0xFFFFFFFFu >> (8u * ps));
        clear_hist(tid);
        workgroupBarrier();
        for (var j = tid; j < V; j += WG) {
          if ((j & mask) == id_prefix && row_key(j) == thr_key) {
            atomicAdd(&hist[(j >> shift) & 0xFFu], 1u);
          }
        }
        workgroupBarrier();
        if (tid == 0u) {
          var below = 0u;
          var d = 0u;
          loop {
            let c = atomicLoad(&hist[d]);
            if (below + c >= need || d == 255u) {
              break;
            }
            below += c;
            d += 1u;
          }
          sel_prefix = id_prefix | (d << shift);
          sel_need = need - below;
        }
        id_prefix = workgroupUniformLoad(&sel_prefix);
        need = workgroupUniformLoad(&sel_need);
      }
      thr_id = id_prefix;
    }
  }

  // 3. collect the candidates and sort them into the canonical order
  cand_key[tid] = 0u;
  cand_id[tid] = 0xFFFFFFFFu;
  if (tid == 0u) {
    atomicStore(&n_cand, 0u);
  }
  workgroupBarrier();
  for (var j = tid; j < V; j += WG) {
    let k = row_key(j);
    if (in_support(k, km) && (k > thr_key || (k == thr_key && j <= thr_id))) {
      let slot = atomicAdd(&n_cand, 1u);
      if (slot < WG) {
        cand_key[slot] = k;
        cand_id[slot] = j;
      }
    }
  }
  for (var size = 2u; size <= WG; size <<= 1u) {
    for (var stride = size >> 1u; stride > 0u; stride >>= 1u) {
      workgroupBarrier();
      let other = tid ^ stride;
      if (other > tid) {
        let first = (tid & size) == 0u;
        let ka = cand_key[tid];
        let ia = cand_id[tid];
        let kb = cand_key[other];
        let ib = cand_id[other];
        if (before(kb, ib, ka, ia) == first) {
          cand_key[tid] = kb;
          cand_id[tid] = ib;
          cand_key[other] = ka;
          cand_id[other] = ia;
        }
      }
    }
  }
  workgroupBarrier();

  // 4. weights, cumulative sums, top-p and the draw
  cum[tid] = select(0u, expq23(log2_weight(cand_key[tid], km)), tid < kk);
  for (var off = 1u; off < WG; off <<= 1u) {
    workgroupBarrier();
    let v = cum[tid] + select(0u, cum[tid - off], tid >= off);
    workgroupBarrier();
    cum[tid] = v;
  }
  workgroupBarrier();
  if (tid == 0u) {
    let total = cum[WG - 1u];
    // ceil(top_p_q * total / 2^24) from the 64-bit product (hi, lo)
    let lo = p.top_p_q * total;
    let hi = mulhi32(p.top_p_q, total);
    let lo2 = lo + 0xFFFFFFu;
    let hi2 = hi + select(0u, 1u, lo2 < lo);
    let thr = max((hi2 << 8u) | (lo2 >> 24u), 1u);
    var m = 0u;
    while (cum[m] < thr) {
      m += 1u;
    }
    let r = philox4x32_10(vec4u(p.step, 0u, 0u, SAMPLE_STREAM), vec2u(p.seed, 0u)).x;
    let goal = mulhi32(r, cum[m]);
    var c = 0u;
    while (cum[c] <= goal) {
      c += 1u;
    }
    out[p.out_index] = cand_id[c];
  }
}
