// attention (flash, keys split across the workgroup): the same contract as attention.wgsl (layouts, key
// positions, the one mask rule), for very few query rows, e.g. single-token decode.
//
// A query tile would leave all but one invocation idle here, so a workgroup owns ONE query row of one
// (batch, query head) and its WG invocations share the keys instead. The keys are walked in chunks of WG:
//   1. invocation t scores key t of the chunk (a full dot product; the query sits in workgroup memory);
//   2. every invocation reads the chunk's scores to get the same new running max, turns its own score into a
//      probability and keeps a partial sum of them (online softmax, rescaled once per chunk);
//   3. for p · V, invocation t owns the vec4 column c = t % D4 of the output and the chunk keys j ≡ t / D4
//      (mod R = WG / D4), so V rows are read by consecutive invocations as consecutive vec4s.
// At the end the R partial accumulators of each column and the WG partial sums are added in workgroup memory.
// Nothing of size Sq × Sk is ever stored.

struct Params {
  seqQ: u32,
  seqK: u32,
  headsQ: u32,
  headsKV: u32,
  cacheCap: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> q: array<vec4f>;
@group(0) @binding(1) var<storage, read> k: array<vec4f>;
@group(0) @binding(2) var<storage, read> v: array<vec4f>;
@group(0) @binding(3) var<storage, read> cacheK: array<vec4f>;
@group(0) @binding(4) var<storage, read> cacheV: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4f>;
// Per batch: x = cacheLen, y = qOffset, z = causalLen.
@group(0) @binding(6) var<storage, read> batchMeta: array<vec4u>;
@group(0) @binding(7) var<uniform> p: Params;

// Keys per chunk (one per invocation); must be a multiple of D4 (the wrapper uses 64: D4 is 8, 16 or 32).
override WG: u32 = 64u;
override HEAD_DIM: u32 = 64u;
override D4: u32 = HEAD_DIM / 4u;
override R: u32 = WG / D4;

// Stands for -inf (see attention.wgsl).
const NEG: f32 = -3.0e38;

var<workgroup> qs: array<vec4f, D4>;
var<workgroup> scores: array<f32, WG>;
var<workgroup> probs: array<f32, WG>;
var<workgroup> partial: array<vec4f, WG>;

fn keyIndex(b: u32, pos: u32, cacheLen: u32, hk: u32) -> u32 {
  if (pos < cacheLen) {
    return ((b * p.cacheCap + pos) * p.headsKV + hk) * D4;
  }
  return ((b * p.seqK + (pos - cacheLen)) * p.headsKV + hk) * D4;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = wg.x;
  let h = wg.y;
  let b = wg.z;
  let m = batchMeta[b];
  let cacheLen = m.x;
  let total = cacheLen + p.seqK;
  let hk = h / (p.headsQ / p.headsKV);
  let qpos = m.y + i;
  var keyEnd = total;
  if (qpos < m.z) {
    keyEnd = min(total, qpos + 1u);
  }
  let qBase = ((b * p.seqQ + i) * p.headsQ + h) * D4;
  if (tid < D4) {
    qs[tid] = q[qBase + tid] * p.scale;
  }
  workgroupBarrier();

  let c = tid % D4;
  let r = tid / D4;
  var mx = NEG;
  var l = 0.0;
  var acc = vec4f(0.0);

  for (var t0 = 0u; t0 < keyEnd; t0 += WG) {
    let pos = t0 + tid;
    var s = NEG;
    if (pos < keyEnd) {
      let base = keyIndex(b, pos, cacheLen, hk);
      var d = 0.0;
      if (pos < cacheLen) {
        for (var e = 0u; e < D4; e++) {
          d += dot(qs[e], cacheK[base + e]);
        }
      } else {
        for (var e = 0u; e < D4; e++) {
          d += dot(qs[e], k[base + e]);
        }
      }
      s = d;
    }
    scores[tid] = s;
    workgroupBarrier();

    var tmax = mx;
    for (var j = 0u; j < WG; j++) {
      tmax = max(tmax, scores[j]);
    }
    let corr = exp(mx - tmax);
    let pj = select(0.0, exp(s - tmax), s > NEG);
    probs[tid] = pj;
    l = l * corr + pj;
    acc *= corr;
    mx = tmax;
    workgroupBarrier();

    for (var j = r; j < WG; j += R) {
      let kp = t0 + j;
      let w = probs[j];
      if (kp < keyEnd && w > 0.0) {
        let idx = keyIndex(b, kp, cacheLen, hk) + c;
        if (kp < cacheLen) {
          acc += w * cacheV[idx];
        } else {
          acc += w * v[idx];
        }
      }
    }
    workgroupBarrier();
  }

  partial[tid] = acc;
  probs[tid] = l;
  workgroupBarrier();
  if (tid < D4) {
    var sum = vec4f(0.0);
    for (var rr = 0u; rr < R; rr++) {
      sum += partial[rr * D4 + tid];
    }
    var lsum = 0.0;
    for (var j = 0u; j < WG; j++) {
      lsum += probs[j];
    }
    out[qBase + tid] = sum * select(0.0, 1.0 / lsum, lsum > 0.0);
  }
}
