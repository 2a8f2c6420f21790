// attention_naive: the textbook three-pass attention, kept as the baseline the flash kernel is measured against.
// Same contract as attention.wgsl (layouts, key positions, the one mask rule, per-batch `meta`).
//
// The override PASS picks the pass; all three bind the same buffers. S is a scratch matrix [B, Hq, Sq, T] where
// T = the longest key sequence of any batch:
//   PASS 0: one invocation per score: S = scale · q · k, or NEG where masked or past the batch's keys;
//   PASS 1: one invocation per row: max, then exp and sum, then normalise (three sweeps over the row in S);
//   PASS 2: one invocation per output vec4: O = Σ_j S[j] · V[j].
// Every score goes through memory three times (written, softmaxed in place, read for S·V) and nothing is shared
// between invocations — which is exactly what flash attention avoids.

struct Params {
  seqQ: u32,
  seqK: u32,
  headsQ: u32,
  headsKV: u32,
  cacheCap: u32,
  scale: f32,
  // Keys per row of S.
  keys: u32,
  // Invocations in this pass, and the flat-index stride of the second dispatch dimension.
  n: u32,
  stride: u32,
}

@group(0) @binding(0) var<storage, read> q: array<vec4f>;
@group(0) @binding(1) var<storage, read> k: array<vec4f>;
@group(0) @binding(2) var<storage, read> v: array<vec4f>;
@group(0) @binding(3) var<storage, read> cacheK: array<vec4f>;
@group(0) @binding(4) var<storage, read> cacheV: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4f>;
// Per batch: x = cacheLen, y = qOffset, z = causalLen.
@group(0) @binding(6) var<storage, read> batchMeta: array<vec4u>;
@group(0) @binding(7) var<storage, read_write> s: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

override PASS: u32 = 0u;
override WG: u32 = 64u;
override HEAD_DIM: u32 = 64u;
override D4: u32 = HEAD_DIM / 4u;

const NEG: f32 = -3.0e38;

fn keyIndex(b: u32, pos: u32, cacheLen: u32, hk: u32) -> u32 {
  if (pos < cacheLen) {
    return ((b * p.cacheCap + pos) * p.headsKV + hk) * D4;
  }
  return ((b * p.seqK + (pos - cacheLen)) * p.headsKV + hk) * D4;
}

// S[b, h, i, j]
fn scores(e: u32) {
  let j = e % p.keys;
  let row = e / p.keys;
  let i = row % p.seqQ;
  let h = (row / p.seqQ) % p.headsQ;
  let b = row / (p.seqQ * p.headsQ);
  let m = batchMeta[b];
  let qpos = m.y + i;
  var sc = NEG;
  if (j < m.x + p.seqK && (j <= qpos || qpos >= m.z)) {
    let hk = h / (p.headsQ / p.headsKV);
    let qBase = ((b * p.seqQ + i) * p.headsQ + h) * D4;
    let kBase = keyIndex(b, j, m.x, hk);
    var d = 0.0;
    for (var c = 0u; c < D4; c++) {
      var kv: vec4f;
      if (j < m.x) {
        kv = cacheK[kBase + c];
      } else {
        kv = k[kBase + c];
      }
      d += dot(q[qBase + c], kv);
    }
    sc = d * p.scale;
  }
  s[e] = sc;
}

fn softmax(row: u32) {
  let base = row * p.keys;
  var mx = NEG;
  for (var j = 0u; j < p.keys; j++) {
    mx = max(mx, s[base + j]);
  }
  var sum = 0.0;
  for (var j = 0u; j < p.keys; j++) {
    let x = s[base + j];
    let e = select(0.0, exp(x - mx), x > NEG);
    s[base + j] = e;
    sum += e;
  }
  let inv = select(0.0, 1.0 / sum, sum > 0.0);
  for (var j = 0u; j < p.keys; j++) {
    s[base + j] *= inv;
  }
}

// O[b, i, h, c]
fn weighted(e: u32) {
  let c = e % D4;
  let h = (e / D4) % p.headsQ;
  let i = (e / (D4 * p.headsQ)) % p.seqQ;
  let b = e / (D4 * p.headsQ * p.seqQ);
  let m = batchMeta[b];
  let hk = h / (p.headsQ / p.headsKV);
  let sBase = ((b * p.headsQ + h) * p.seqQ + i) * p.keys;
  let total = m.x + p.seqK;
  var acc = vec4f(0.0);
  for (var j = 0u; j < total; j++) {
    let idx = keyIndex(b, j, m.x, hk) + c;
    var vv: vec4f;
    if (j < m.x) {
      vv = cacheV[idx];
    } else {
      vv = v[idx];
    }
    acc += s[sBase + j] * vv;
  }
  out[e] = acc;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x + gid.y * p.stride;
  if (e >= p.n) {
    return;
  }
  if (PASS == 0u) {
    scores(e);
  } else if (PASS == 1u) {
    softmax(e);
  } else {
    weighted(e);
  }
}
