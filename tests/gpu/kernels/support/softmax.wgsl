// softmax over each row: out[r, i] = exp(x[r, i] − max_r) / Σ_j exp(x[r, j] − max_r). Subtracting the row max
// keeps every exp() in (0, 1], so nothing overflows whatever the logits' range; masked entries should be large
// negative numbers (the models use −1e9), not −inf, which WGSL leaves implementation-defined.
// One workgroup per row: a max reduction, then a sum reduction in workgroup memory, then the normalised write,
// each over a strided slice of the row (consecutive invocations on consecutive elements).

struct Params {
  rows: u32,
  dim: u32,
  stride: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

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

  var m = bitcast<f32>(0xff7fffffu); // −FLT_MAX
  for (var i = t; i < p.dim; i += WG) {
    m = max(m, x[base + i]);
  }
  red[t] = m;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (t < h) {
      red[t] = max(red[t], red[t + h]);
    }
    workgroupBarrier();
  }
  let row_max = red[0];
  workgroupBarrier();

  var s = 0.0;
  for (var i = t; i < p.dim; i += WG) {
    s += exp(x[base + i] - row_max);
  }
  red[t] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (t < h) {
      red[t] += red[t + h];
    }
    workgroupBarrier();
  }
  let total = red[0];

  for (var i = t; i < p.dim; i += WG) {
    out[base + i] = exp(x[base + i] - row_max) / total;
  }
}
