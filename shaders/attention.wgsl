// attention (flash, query-tiled): O = softmax(mask(scale · Q Kᵀ)) V without ever storing a score matrix.
//
// Layouts (row-major, D = HEAD_DIM, all read as vec4): Q and O [B, Sq, Hq, D]; current K/V [B, Sk, Hkv, D];
// cached prefix K/V [B, cap, Hkv, D], of which batch b uses rows 0..cacheLen_b-1. Key position p < cacheLen_b is
// cache row p, otherwise current row p - cacheLen_b. Query i of batch b sits at absolute position qOffset_b + i.
// One mask rule covers causal, full and the painter's condition-causal mask: key p is visible to query position
// t when p <= t or t >= causalLen_b (causal: causalLen = 0xffffffff; full: 0).
//
// Tiling: a workgroup owns ROWS consecutive query rows of one (batch, query head); each of its WG = ROWS / 2
// invocations owns two rows and keeps their (pre-scaled) queries, output accumulators and running max / sum in
// registers. The workgroup walks the keys in tiles of BK rows: all invocations copy the K and V tile into
// workgroup memory together (each key row is then read from fast memory by ROWS queries instead of ROWS times
// from the buffer), then every invocation scores its rows against the tile four keys per vec4, rescales its
// accumulators once per tile (online softmax) and adds p · V column by column, so each accumulator vec4 is
// loaded and stored once per tile rather than once per key. Tiles past the last key that any row of the
// workgroup can see (causal) are never loaded. Short query blocks (decode) use attention_decode.wgsl instead,
// which splits the keys over the workgroup rather than idling most of a tile.

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

// Query rows per workgroup; each invocation owns two of them (rows tid and tid + WG), so every K/V vec4 read
// from workgroup memory feeds two dot products / two accumulators.
override ROWS: u32 = 64u;
override WG: u32 = ROWS / 2u;
override HEAD_DIM: u32 = 64u;
override D4: u32 = HEAD_DIM / 4u;

// Keys per tile: 16 rows of K and V are 16 KiB of workgroup memory at head_dim 128.
const BK: u32 = 16u;
// Registers are sized for the largest head_dim (128 = 32 vec4); smaller dims use a prefix.
const MAX_D4: u32 = 32u;
// Stands for -inf: exp(NEG - finite) is 0 and NEG - NEG is 0, so no NaN appears for fully masked tiles.
const NEG: f32 = -3.0e38;

var<workgroup> kTile: array<vec4f, BK * D4>;
var<workgroup> vTile: array<vec4f, BK * D4>;

fn keyIndex(b: u32, pos: u32, cacheLen: u32, hk: u32) -> u32 {
  if (pos < cacheLen) {
    return ((b * p.cacheCap + pos) * p.headsKV + hk) * D4;
  }
  return ((b * p.seqK + (pos - cacheLen)) * p.headsKV + hk) * D4;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) tid: u32) {
  let b = wg.z;
  let h = wg.y;
  let row0 = wg.x * ROWS;
  let m = batchMeta[b];
  let cacheLen = m.x;
  let total = cacheLen + p.seqK;
  let hk = h / (p.headsQ / p.headsKV);

  // The last key any row of this workgroup can see.
  let lastPos = m.y + min(row0 + ROWS, p.seqQ) - 1u;
  var keyEnd = total;
  if (lastPos < m.z) {
    keyEnd = min(total, lastPos + 1u);
  }

  let i = vec2u(row0 + tid, row0 + tid + WG);
  let valid = i < vec2u(p.seqQ);
  let qpos = vec2u(m.y) + i;
  let seesAll = qpos >= vec2u(m.z);
  let qBase = ((vec2u(b * p.seqQ) + i) * p.headsQ + h) * D4;

  // Rows past seqQ keep zero queries: they compute harmless numbers and write nothing.
  var q0: array<vec4f, MAX_D4>;
  var q1: array<vec4f, MAX_D4>;
  var acc0: array<vec4f, MAX_D4>;
  var acc1: array<vec4f, MAX_D4>;
  for (var c = 0u; c < D4; c++) {
    if (valid.x) {
      q0[c] = q[qBase.x + c] * p.scale;
    }
    if (valid.y) {
      q1[c] = q[qBase.y + c] * p.scale;
    }
  }
  var mx = vec2f(NEG);
  var l = vec2f(0.0);

  for (var t0 = 0u; t0 < keyEnd; t0 += BK) {
    for (var e = tid; e < BK * D4; e += WG) {
      let pos = t0 + e / D4;
      var kv = vec4f(0.0);
      var vv = vec4f(0.0);
      if (pos < keyEnd) {
        let idx = keyIndex(b, pos, cacheLen, hk) + e % D4;
        if (pos < cacheLen) {
          kv = cacheK[idx];
          vv = cacheV[idx];
        } else {
          kv = k[idx];
          vv = v[idx];
        }
      }
      kTile[e] = kv;
      vTile[e] = vv;
    }
    workgroupBarrier();

    if (any(valid)) {
      // Scores of the tile, four keys per vec4: each query vec4 is read once per four keys.
      var s0: array<vec4f, BK / 4u>;
      var s1: array<vec4f, BK / 4u>;
      var tmax = mx;
      for (var g = 0u; g < BK / 4u; g++) {
        let k0 = g * 4u * D4;
        var d0 = vec4f(0.0);
        var d1 = vec4f(0.0);
        for (var c = 0u; c < D4; c++) {
          let ka = kTile[k0 + c];
          let kb = kTile[k0 + D4 + c];
          let kc = kTile[k0 + 2u * D4 + c];
          let kd = kTile[k0 + 3u * D4 + c];
          let a = q0[c];
          let z = q1[c];
          d0 += vec4f(dot(a, ka), dot(a, kb), dot(a, kc), dot(a, kd));
          d1 += vec4f(dot(z, ka), dot(z, kb), dot(z, kc), dot(z, kd));
        }
        let pos = vec4u(t0 + g * 4u) + vec4u(0u, 1u, 2u, 3u);
        let inRange = pos < vec4u(keyEnd);
        d0 = select(vec4f(NEG), d0, inRange & ((pos <= vec4u(qpos.x)) | vec4<bool>(seesAll.x)));
        d1 = select(vec4f(NEG), d1, inRange & ((pos <= vec4u(qpos.y)) | vec4<bool>(seesAll.y)));
        s0[g] = d0;
        s1[g] = d1;
        tmax = max(tmax, vec2f(max(max(d0.x, d0.y), max(d0.z, d0.w)), max(max(d1.x, d1.y), max(d1.z, d1.w))));
      }
      // Online softmax: rescale what was accumulated to the new max once per tile. A row with nothing visible
      // yet has mx = tmax = NEG, so corr = 1 and every p = 0.
      let corr = exp(mx - tmax);
      var lt = vec2f(0.0);
      for (var g = 0u; g < BK / 4u; g++) {
        let d0 = s0[g];
        let d1 = s1[g];
        let p0 = select(vec4f(0.0), exp(d0 - vec4f(tmax.x)), d0 > vec4f(NEG));
        let p1 = select(vec4f(0.0), exp(d1 - vec4f(tmax.y)), d1 > vec4f(NEG));
        s0[g] = p0;
        s1[g] = p1;
        lt += vec2f(p0.x + p0.y + p0.z + p0.w, p1.x + p1.y + p1.z + p1.w);
      }
      l = l * corr + lt;
      // Column-outer: each accumulator vec4 is read and written once per tile, not once per key.
      for (var c = 0u; c < D4; c++) {
        var a0 = acc0[c] * corr.x;
        var a1 = acc1[c] * corr.y;
        for (var g = 0u; g < BK / 4u; g++) {
          let v0 = g * 4u * D4 + c;
          let va = vTile[v0];
          let vb = vTile[v0 + D4];
          let vc = vTile[v0 + 2u * D4];
          let vd = vTile[v0 + 3u * D4];
          let p0 = s0[g];
          let p1 = s1[g];
          a0 += p0.x * va + p0.y * vb + p0.z * vc + p0.w * vd;
          a1 += p1.x * va + p1.y * vb + p1.z * vc + p1.w * vd;
        }
        acc0[c] = a0;
        acc1[c] = a1;
      }
      mx = tmax;
    }
    workgroupBarrier();
  }

  let inv = select(vec2f(0.0), 1.0 / l, l > vec2f(0.0));
  for (var c = 0u; c < D4; c++) {
    if (valid.x) {
      out[qBase.x + c] = acc0[c] * inv.x;
    }
    if (valid.y) {
      out[qBase.y + c] = acc1[c] * inv.y;
    }
  }
}
