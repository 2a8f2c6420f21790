// attention (flash, keys split across the workgroup): the same contract as attention.wgsl (layouts, key
// positions, the one mask rule), for very few query rows, e.g. single-token decode.
//
// A query tile would leave all but one invocation idle here, so a workgroup owns ONE query row of one
// (batch, query head) and its WG invocations share the keys instead: invocation t takes the groups of four keys
// 4t..4t+3, 4(t + WG).., ... and runs its own online softmax over them (running max, running sum, a full
// head_dim accumulator in registers). Four keys at a time means each query vec4 is read once per four dot
// products and each accumulator vec4 once per four V rows. The key loop has no barrier at all. At the end the
// WG partial results are merged once through workgroup memory: the common max, each part rescaled to it, then
// the parts of each vec4 column summed. Nothing of size Sq × Sk is ever stored.

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

// Invocations per workgroup. The merge buffer holds WG × D4 vec4s (WG · HEAD_DIM · 4 bytes). Few invocations
// with many keys each measured fastest on software WebGPU, where each invocation's setup and merge share cost
// about as much as its keys.
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

var<private> qr: array<vec4f, MAX_D4>;
var<private> acc: array<vec4f, MAX_D4>;
var<private> mx: f32 = NEG;
var<private> l: f32 = 0.0;

// Folds keys [begin, end) of one source (the cache or the current tokens) into this invocation's state, four at a
// time. `rowOf(pos)` for that source is base + pos * stride (vec4 units); positions ≥ end are masked.
fn fold(fromCache: bool, begin: u32, end: u32, base: u32, stride: u32, tid: u32) {
  for (var k0 = begin + tid * 4u; k0 < end; k0 += WG * 4u) {
    let pos = vec4u(k0) + vec4u(0u, 1u, 2u, 3u);
    let inRange = pos < vec4u(end);
    // Out-of-range keys read row k0 again (always valid) and are masked below.
    let row = vec4u(base) + select(vec4u(k0), pos, inRange) * stride;
    var d = vec4f(0.0);
    for (var c = 0u; c < D4; c++) {
      let qc = qr[c];
      if (fromCache) {
        d += vec4f(dot(qc, cacheK[row.x + c]), dot(qc, cacheK[row.y + c]), dot(qc, cacheK[row.z + c]), dot(qc, cacheK[row.w + c]));
      } else {
        d += vec4f(dot(qc, k[row.x + c]), dot(qc, k[row.y + c]), dot(qc, k[row.z + c]), dot(qc, k[row.w + c]));
      }
    }
    d = select(vec4f(NEG), d, inRange);
    let tmax = max(mx, max(max(d.x, d.y), max(d.z, d.w)));
    let corr = exp(mx - tmax);
    let w = select(vec4f(0.0), exp(d - vec4f(tmax)), inRange);
    l = l * corr + w.x + w.y + w.z + w.w;
    mx = tmax;
    for (var c = 0u; c < D4; c++) {
      if (fromCache) {
        acc[c] = acc[c] * corr + w.x * cacheV[row.x + c] + w.y * cacheV[row.y + c] + w.z * cacheV[row.z + c] + w.w * cacheV[row.w + c];
      } else {
        acc[c] = acc[c] * corr + w.x * v[row.x + c] + w.y * v[row.y + c] + w.z * v[row.z + c] + w.w * v[row.w + c];
      }
    }
  }
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
  // Causal rows see keys up to their own position; rows at or after causalLen see all.
  var keyEnd = total;
  if (qpos < m.z) {
    keyEnd = min(total, qpos + 1u);
  }
  let qBase = ((b * p.seqQ + i) * p.headsQ + h) * D4;
  for (var c = 0u; c < D4; c++) {
    qr[c] = q[qBase + c] * p.scale;
  }

  let stride = p.headsKV * D4;
  let cacheEnd = min(cacheLen, keyEnd);
  fold(true, 0u, cacheEnd, (b * p.cacheCap * p.headsKV + hk) * D4, stride, tid);
  // Current token j sits at position cacheLen + j: fold positions [cacheLen, keyEnd) as rows [0, keyEnd - cacheLen).
  if (keyEnd > cacheLen) {
    fold(false, 0u, keyEnd - cacheLen, (b * p.seqK * p.headsKV + hk) * D4, stride, tid);
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
  for (var c = tid; c < D4; c += WG) {
    var sum = vec4f(0.0);
    var lsum = 0.0;
    for (var t = 0u; t < WG; t++) {
      sum += parts[t * D4 + c];
      lsum += sums[t];
    }
    out[qBase + c] = sum * select(0.0, 1.0 / lsum, lsum > 0.0);
  }
}
