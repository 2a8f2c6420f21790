// attention (flash, query-tiled): O = softmax(mask(scale · Q Kᵀ)) V without ever storing a score matrix.
//
// Layouts (row-major, D = HEAD_DIM, all read as vec4): Q and O [B, Sq, Hq, D]; current K/V [B, Sk, Hkv, D];
// cached prefix K/V [B, cap, Hkv, D], of which batch b uses rows 0..cacheLen_b-1. Key position p < cacheLen_b is
// cache row p, otherwise current row p - cacheLen_b. Query i of batch b sits at absolute position qOffset_b + i.
// One mask rule covers causal, full and the painter's condition-causal mask: key p is visible to query position
// t when p <= t or t >= causalLen_b (causal: causalLen = 0xffffffff; full: 0).
//
// Tiling: a workgroup owns WG consecutive query rows of one (batch, query head); each invocation owns one row and
// keeps its (pre-scaled) query, its output accumulator and its running max / sum in registers. The workgroup walks
// the keys in tiles of BK rows: all invocations copy the K and V tile into workgroup memory together (each row is
// then read from fast memory by WG queries instead of WG times from the buffer), then every invocation scores its
// row against the tile, rescales its accumulator once per tile (online softmax) and adds p · V. Tiles past the
// last key that any row of the workgroup can see (causal) are never loaded. Single-row decode uses
// attention_decode.wgsl instead, which splits the keys over the workgroup rather than idling WG-1 invocations.

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

// Query rows per workgroup (one per invocation).
override WG: u32 = 64u;
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
  let row0 = wg.x * WG;
  let m = batchMeta[b];
  let cacheLen = m.x;
  let total = cacheLen + p.seqK;
  let hk = h / (p.headsQ / p.headsKV);

  // The last key any row of this workgroup can see.
  let lastPos = m.y + min(row0 + WG, p.seqQ) - 1u;
  var keyEnd = total;
  if (lastPos < m.z) {
    keyEnd = min(total, lastPos + 1u);
  }

  let i = row0 + tid;
  let valid = i < p.seqQ;
  let qpos = m.y + i;
  let seesAll = qpos >= m.z;
  let qBase = ((b * p.seqQ + i) * p.headsQ + h) * D4;

  var qr: array<vec4f, MAX_D4>;
  var acc: array<vec4f, MAX_D4>;
  if (valid) {
    for (var c = 0u; c < D4; c++) {
      qr[c] = q[qBase + c] * p.scale;
      acc[c] = vec4f(0.0);
    }
  }
  var mx = NEG;
  var l = 0.0;

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

    if (valid) {
      // Scores of the tile, four keys per vec4: each query vec4 is read once per four keys.
      var s: array<vec4f, BK / 4u>;
      var tmax = mx;
      for (var g = 0u; g < BK / 4u; g++) {
        let k0 = g * 4u * D4;
        var d = vec4f(0.0);
        for (var c = 0u; c < D4; c++) {
          let qc = qr[c];
          d += vec4f(
            dot(qc, kTile[k0 + c]),
            dot(qc, kTile[k0 + D4 + c]),
            dot(qc, kTile[k0 + 2u * D4 + c]),
            dot(qc, kTile[k0 + 3u * D4 + c]),
          );
        }
        let pos = vec4u(t0 + g * 4u) + vec4u(0u, 1u, 2u, 3u);
        let visible = (pos < vec4u(keyEnd)) & ((pos <= vec4u(qpos)) | vec4<bool>(seesAll));
        d = select(vec4f(NEG), d, visible);
        s[g] = d;
        tmax = max(tmax, max(max(d.x, d.y), max(d.z, d.w)));
      }
      if (tmax > NEG) {
        let corr = exp(mx - tmax);
        var lt = 0.0;
        for (var g = 0u; g < BK / 4u; g++) {
          let d = s[g];
          let pg = select(vec4f(0.0), exp(d - vec4f(tmax)), d > vec4f(NEG));
          s[g] = pg;
          lt += pg.x + pg.y + pg.z + pg.w;
        }
        l = l * corr + lt;
        // Column-outer: each accumulator vec4 is read and written once per tile, not once per key.
        for (var c = 0u; c < D4; c++) {
          var a = acc[c] * corr;
          for (var g = 0u; g < BK / 4u; g++) {
            let pg = s[g];
            let v0 = g * 4u * D4 + c;
            a += pg.x * vTile[v0] + pg.y * vTile[v0 + D4] + pg.z * vTile[v0 + 2u * D4] + pg.w * vTile[v0 + 3u * D4];
          }
          acc[c] = a;
        }
        mx = tmax;
      }
    }
    workgroupBarrier();
  }

  if (valid) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var c = 0u; c < D4; c++) {
      out[qBase + c] = acc[c] * inv;
    }
  }
}
