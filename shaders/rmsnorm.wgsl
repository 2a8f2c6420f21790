// rmsnorm: out[r, i] = x[r, i] · rsqrt(mean_i(x[r, i]²) + eps) · weight[i], in the order of the PyTorch model.
// One workgroup per row: each invocation sums the squares of a strided slice of the row (consecutive invocations
// read consecutive elements), the partial sums meet in a tree reduction in workgroup memory, and the same
// invocations then write the scaled slice. Rows beyond 65535 workgroups fold into the y dimension
// (row = x + y · stride).

struct Params {
  rows: u32,
  dim: u32,
  stride: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Invocations per row: a power of two from 32 to 256 chosen by the wrapper (rowWorkgroupSize), so short rows do
// not pay for 256 invocations and their barriers.
override WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * p.stride;
  if (row >= p.rows) {
    return;
  }
  let base = row * p.dim;
  var s = 0.0;
  for (var i = t; i < p.dim; i += WG) {
    let v = x[base + i];
    s += v * v;
  }
  red[t] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (t < h) {
      red[t] += red[t + h];
    }
    workgroupBarrier();
  }
  let inv = inverseSqrt(red[0] / f32(p.dim) + p.eps);
  for (var i = t; i < p.dim; i += WG) {
    out[base + i] = x[base + i] * inv * weight[i];
  }
}
