// layernorm: out[r, i] = (x[r, i] − μ) · rsqrt(mean_i((x[r, i] − μ)²) + eps) · weight[i] + bias[i], weight and bias
// optional (HAS_WEIGHT, HAS_BIAS overrides; the wrapper binds a dummy buffer for an absent one). The biased
// variance, as torch.nn.LayerNorm.
// One workgroup per row, two reductions in workgroup memory: the mean first, then the sum of squared deviations
// from it (two passes over the row rather than E[x²] − μ², which cancels badly when |μ| is large against the
// spread). The row is re-read from global memory for each pass; it is small and stays in cache.

struct Params {
  rows: u32,
  dim: u32,
  stride: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

override HAS_WEIGHT: bool;
override HAS_BIAS: bool;

// Invocations per row: a power of two from 32 to 256 chosen by the wrapper (rowWorkgroupSize), so short rows do
// not pay for 256 invocations and their barriers.
override WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;

// Sum of `v` over the workgroup; every invocation gets the result.
fn workgroup_sum(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (t < h) {
      red[t] += red[t + h];
    }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // everyone has read red[0] before it is reused
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * p.stride;
  if (row >= p.rows) {
    return;
  }
  let base = row * p.dim;
  let n = f32(p.dim);
  var s = 0.0;
  for (var i = t; i < p.dim; i += WG) {
    s += x[base + i];
  }
  let mean = workgroup_sum(s, t) / n;
  var q = 0.0;
  for (var i = t; i < p.dim; i += WG) {
    let d = x[base + i] - mean;
    q += d * d;
  }
  let inv = inverseSqrt(workgroup_sum(q, t) / n + p.eps);
  for (var i = t; i < p.dim; i += WG) {
    var v = (x[base + i] - mean) * inv;
    if (HAS_WEIGHT) {
      v *= weight[i];
    }
    if (HAS_BIAS) {
      v += bias[i];
    }
    out[base + i] = v;
  }
}
