// attention, flash-decoding pass 1 (keys split across invocations and workgroups): the same contract as
// attention.wgsl (layouts, key positions, the one mask rule), for very few query rows, e.g. single-token decode.
//
// Tiling: the keys of one query row (cache prefix then current tokens) are cut into `splits` chunks of
// `keysPerSplit` consecutive positions (the last one ragged). One invocation owns one chunk for GH query heads
// that read the same kv head (grouped-query heads), so every K and V vec4 it loads feeds GH dot products / GH
// accumulators instead of one. It walks its chunk four keys at a time (a vec4 of scores per head, so each query
// and accumulator vec4 is touched once per four keys), keeps a running max and sum per head (online softmax)
// and a full head_dim accumulator per head, and never synchronises with anyone: no barrier, no workgroup memory.
// With one split it normalises and writes `out` directly; otherwise it writes its unnormalised partial
// (max, sum, acc) to `dst` and attention_merge.wgsl combines the chunks. Splitting is what gives decode enough
// invocations: a 1024-key cache gives 16 chunks per head group instead of one workgroup per head.
//
// Why these choices: on every target the K/V rows dominate the traffic (read once per GH heads here), and on
// software WebGPU each load from a buffer or an indexed array costs several times an arithmetic op, so the loop
// is arranged to reuse every loaded vec4 as often as registers allow.
//
// Grid: x covers splits × head groups of one row ((s, head group) = (u % splits, u / splits)), y = query row,
// z = batch.

struct Params {
  seqQ: u32,
  seqK: u32,
  headsQ: u32,
  headsKV: u32,
  cacheCap: u32,
  scale: f32,
  splits: u32,
  keysPerSplit: u32,
}

@group(0) @binding(0) var<storage, read> q: array<vec4f>;
@group(0) @binding(1) var<storage, read> k: array<vec4f>;
@group(0) @binding(2) var<storage, read> v: array<vec4f>;
@group(0) @binding(3) var<storage, read> cacheK: array<vec4f>;
@group(0) @binding(4) var<storage, read> cacheV: array<vec4f>;
// DIRECT: `out` [B, Sq, Hq, D]. Otherwise the partials [B, Sq, Hq, splits] × (D4 + 1) vec4: (max, sum, 0, 0), then
// the unnormalised accumulator.
@group(0) @binding(5) var<storage, read_write> dst: array<vec4f>;
// Per batch: x = cacheLen, y = qOffset, z = causalLen.
@group(0) @binding(6) var<storage, read> batchMeta: array<vec4u>;
@group(0) @binding(7) var<uniform> p: Params;

override WG: u32 = 16u;
override HEAD_DIM: u32 = 64u;
override D4: u32 = HEAD_DIM / 4u;
// Query heads per invocation: 4, 2 or 1 (the largest that divides Hq / Hkv).
override GH: u32 = 4u;
// One split: write normalised rows to `out` instead of partials.
override DIRECT: bool = false;

// Registers are sized for 4 heads of the largest head_dim (128 = 32 vec4); smaller shapes use a prefix.
const MAX_D4: u32 = 32u;
// Stands for -inf (see attention.wgsl).
const NEG: f32 = -3.0e38;

// Head g's query (pre-scaled) and accumulator are at g * D4 + c.
var<private> qr: array<vec4f, 4u * MAX_D4>;
var<private> acc: array<vec4f, 4u * MAX_D4>;
// Running max and sum, one component per head.
var<private> mx: vec4f = vec4f(NEG);
var<private> l: vec4f = vec4f(0.0);

fn kRow(fromCache: bool, i: u32) -> vec4f {
  if (fromCache) {
    return cacheK[i];
  }
  return k[i];
}

fn vRow(fromCache: bool, i: u32) -> vec4f {
  if (fromCache) {
    return cacheV[i];
  }
  return v[i];
}

fn hmax(x: vec4f) -> f32 {
  return max(max(x.x, x.y), max(x.z, x.w));
}

fn hsum(x: vec4f) -> f32 {
  return (x.x + x.y) + (x.z + x.w);
}

// Folds rows [begin, end) of one source (the cache or the current tokens) into the state, four at a time. Row r
// is at base + r * stride (vec4 units); rows ≥ end are masked.
fn fold(fromCache: bool, begin: u32, end: u32, base: u32, stride: u32) {
  for (var k0 = begin; k0 < end; k0 += 4u) {
    let pos = vec4u(k0) + vec4u(0u, 1u, 2u, 3u);
    let inRange = pos < vec4u(end);
    // Out-of-range keys read row k0 again (always valid) and are masked below.
    let row = vec4u(base) + select(vec4u(k0), pos, inRange) * stride;
    var d0 = vec4f(0.0);
    var d1 = vec4f(0.0);
    var d2 = vec4f(0.0);
    var d3 = vec4f(0.0);
    for (var c = 0u; c < D4; c++) {
      let ka = kRow(fromCache, row.x + c);
      let kb = kRow(fromCache, row.y + c);
      let kc = kRow(fromCache, row.z + c);
      let kd = kRow(fromCache, row.w + c);
      let q0 = qr[c];
      d0 += vec4f(dot(q0, ka), dot(q0, kb), dot(q0, kc), dot(q0, kd));
      if (GH >= 2u) {
        let q1 = qr[D4 + c];
        d1 += vec4f(dot(q1, ka), dot(q1, kb), dot(q1, kc), dot(q1, kd));
      }
      if (GH == 4u) {
        let q2 = qr[2u * D4 + c];
        let q3 = qr[3u * D4 + c];
        d2 += vec4f(dot(q2, ka), dot(q2, kb), dot(q2, kc), dot(q2, kd));
        d3 += vec4f(dot(q3, ka), dot(q3, kb), dot(q3, kc), dot(q3, kd));
      }
    }
    let neg = vec4f(NEG);
    d0 = select(neg, d0, inRange);
    d1 = select(neg, d1, inRange);
    d2 = select(neg, d2, inRange);
    d3 = select(neg, d3, inRange);
    // Online softmax, the four heads side by side. Heads past GH compute harmless numbers that are never stored.
    let tmax = max(mx, vec4f(hmax(d0), hmax(d1), hmax(d2), hmax(d3)));
    let corr = exp(mx - tmax);
    let w0 = select(vec4f(0.0), exp(d0 - vec4f(tmax.x)), inRange);
    let w1 = select(vec4f(0.0), exp(d1 - vec4f(tmax.y)), inRange);
    let w2 = select(vec4f(0.0), exp(d2 - vec4f(tmax.z)), inRange);
    let w3 = select(vec4f(0.0), exp(d3 - vec4f(tmax.w)), inRange);
    l = l * corr + vec4f(hsum(w0), hsum(w1), hsum(w2), hsum(w3));
    mx = tmax;
    for (var c = 0u; c < D4; c++) {
      let va = vRow(fromCache, row.x + c);
      let vb = vRow(fromCache, row.y + c);
      let vc = vRow(fromCache, row.z + c);
      let vd = vRow(fromCache, row.w + c);
      acc[c] = acc[c] * corr.x + w0.x * va + w0.y * vb + w0.z * vc + w0.w * vd;
      if (GH >= 2u) {
        let i1 = D4 + c;
        acc[i1] = acc[i1] * corr.y + w1.x * va + w1.y * vb + w1.z * vc + w1.w * vd;
      }
      if (GH == 4u) {
        let i2 = 2u * D4 + c;
        let i3 = 3u * D4 + c;
        acc[i2] = acc[i2] * corr.z + w2.x * va + w2.y * vb + w2.z * vc + w2.w * vd;
        acc[i3] = acc[i3] * corr.w + w3.x * va + w3.y * vb + w3.z * vc + w3.w * vd;
      }
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let u = wg.x * WG + tid;
  let groups = p.headsQ / GH;
  if (u >= p.splits * groups) {
    return;
  }
  let s = u % p.splits;
  let h0 = (u / p.splits) * GH;
  let i = wg.y;
  let b = wg.z;
  let m = batchMeta[b];
  let cacheLen = m.x;
  let total = cacheLen + p.seqK;
  let hk = h0 / (p.headsQ / p.headsKV);
  let qpos = m.y + i;
  // Causal rows see keys up to their own position; rows at or after causalLen see all.
  var keyEnd = total;
  if (qpos < m.z) {
    keyEnd = min(total, qpos + 1u);
  }
  let qBase = ((b * p.seqQ + i) * p.headsQ + h0) * D4;
  for (var g = 0u; g < GH; g++) {
    for (var c = 0u; c < D4; c++) {
      qr[g * D4 + c] = q[qBase + g * D4 + c] * p.scale;
      acc[g * D4 + c] = vec4f(0.0);
    }
  }

  // This chunk's key positions, then the part of it in the cache and the part in the current tokens.
  let begin = min(s * p.keysPerSplit, keyEnd);
  let end = min(begin + p.keysPerSplit, keyEnd);
  let stride = p.headsKV * D4;
  fold(true, begin, min(end, cacheLen), (b * p.cacheCap * p.headsKV + hk) * D4, stride);
  // Current token j sits at position cacheLen + j.
  if (end > cacheLen) {
    fold(false, max(begin, cacheLen) - cacheLen, end - cacheLen, (b * p.seqK * p.headsKV + hk) * D4, stride);
  }

  if (DIRECT) {
    // Every row sees at least key 0, so l > 0; the guard only keeps a NaN out if that ever changes.
    let inv = select(vec4f(0.0), 1.0 / l, l > vec4f(0.0));
    for (var g = 0u; g < GH; g++) {
      for (var c = 0u; c < D4; c++) {
        dst[qBase + g * D4 + c] = acc[g * D4 + c] * inv[g];
      }
    }
  } else {
    for (var g = 0u; g < GH; g++) {
      let rec = (((b * p.seqQ + i) * p.headsQ + h0 + g) * p.splits + s) * (D4 + 1u);
      dst[rec] = vec4f(mx[g], l[g], 0.0, 0.0);
      for (var c = 0u; c < D4; c++) {
        dst[rec + 1u + c] = acc[g * D4 + c];
      }
    }
  }
}
