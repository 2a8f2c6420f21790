// attention (flash, keys split across the workgroup): the same contract as attention.wgsl (layouts, key
// positions, the one mask rule), for very few query rows, e.g. single-token decode.
//
// A query tile would leave all but one invocation idle here, so a workgroup owns ONE query row of one
// (batch, query head) and its WG invocations share the keys instead: invocation t takes keys t, t + WG, ...
// and runs its own online softmax over them (running max, running sum, a full head_dim accumulator in
// registers; the accumulator is rescaled only when the max grows). The key loop has no barrier at all. At the
// end the WG partial results are merged once through workgroup memory: the common max, each part rescaled to
// it, then the parts of each vec4 column summed. Nothing of size Sq × Sk is ever stored.

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

// Invocations per workgroup. The merge buffer holds WG × D4 vec4s, so the wrapper keeps WG · HEAD_DIM ≤ 4096
// (16 KiB).
override WG: u32 = 64u;
override HEAD_DIM: u32 = 64u;
override D4: u32 = HEAD_DIM / 4u;

// Registers are sized for the largest head_dim (128 = 32 vec4); smaller dims use a prefix.
const MAX_D4: u32 = 32u;
// Stands for -inf (see attention.wgsl).
const NEG: f32 = -3.0e38;

var<workgroup> maxes: array<f32, WG>;
var<workgroup> sums: array<f32, WG>;
var<workgroup> parts: array<vec4f, WG * D4>;

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
  // Causal rows see keys up to their own position; rows at or after causalLen see all.
  var keyEnd = total;
  if (qpos < m.z) {
    keyEnd = min(total, qpos + 1u);
  }
  let qBase = ((b * p.seqQ + i) * p.headsQ + h) * D4;

  var qr: array<vec4f, MAX_D4>;
  var acc: array<vec4f, MAX_D4>;
  for (var c = 0u; c < D4; c++) {
    qr[c] = q[qBase + c] * p.scale;
    acc[c] = vec4f(0.0);
  }
  var mx = NEG;
  var l = 0.0;

  for (var pos = tid; pos < keyEnd; pos += WG) {
    var base: u32;
    var s = 0.0;
    if (pos < cacheLen) {
      base = ((b * p.cacheCap + pos) * p.headsKV + hk) * D4;
      for (var c = 0u; c < D4; c++) {
        s += dot(qr[c], cacheK[base + c]);
      }
    } else {
      base = ((b * p.seqK + (pos - cacheLen)) * p.headsKV + hk) * D4;
      for (var c = 0u; c < D4; c++) {
        s += dot(qr[c], k[base + c]);
      }
    }
    if (s > mx) {
      let corr = exp(mx - s);
      l *= corr;
      for (var c = 0u; c < D4; c++) {
        acc[c] *= corr;
      }
      mx = s;
    }
    let w = exp(s - mx);
    l += w;
    if (pos < cacheLen) {
      for (var c = 0u; c < D4; c++) {
        acc[c] += w * cacheV[base + c];
      }
    } else {
      for (var c = 0u; c < D4; c++) {
        acc[c] += w * v[base + c];
      }
    }
  }

  maxes[tid] = mx;
  workgroupBarrier();
  var gmax = NEG;
  for (var t = 0u; t < WG; t++) {
    gmax = max(gmax, maxes[t]);
  }
  // An invocation without keys has l = 0 and acc = 0, so its factor does not matter.
  let f = exp(mx - gmax);
  sums[tid] = l * f;
  for (var c = 0u; c < D4; c++) {
    parts[tid * D4 + c] = acc[c] * f;
  }
  workgroupBarrier();
  if (tid < D4) {
    var sum = vec4f(0.0);
    var lsum = 0.0;
    for (var t = 0u; t < WG; t++) {
      sum += parts[t * D4 + tid];
      lsum += sums[t];
    }
    out[qBase + tid] = sum * select(0.0, 1.0 / lsum, lsum > 0.0);
  }
}
