// sincos2d: the painter's fixed 2D sin-cos position embedding for a gh x gw grid of latent patches, [gh * gw, dim],
// token r * gw + c. Mirrors tools/rgvlm/model.py `sincos_2d` / `sincos_1d`: the first dim/2 features come from the
// column coordinate, the last dim/2 from the row coordinate, each half laid out [sin(coord * omega_k) for k < dim/4,
// cos(coord * omega_k) for k < dim/4]; coord = (index + offset) * scale in f32. omega comes from the host (rounded
// as PyTorch rounds it); sin/cos come from trig.wgsl, compiled in front of this text.
//
// One invocation per output float, 256 per workgroup, features fastest (coalesced writes); a second dispatch
// dimension past 65535 workgroups. Computed once per resolution, so nothing is shared between invocations.

struct Params {
  total: u32,   // gh * gw * dim
  stride: u32,  // invocations per row of the 2D dispatch
  gw: u32,
  dim: u32,
  quarter: u32, // dim / 4
  top: f32,     // row offset
  left: f32,    // column offset
  scale: f32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> omega: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.total) {
    return;
  }
  let f = i % p.dim;
  let tok = i / p.dim;
  let half = 2u * p.quarter;
  var coord: f32;
  if (f < half) {
    coord = (f32(tok % p.gw) + p.left) * p.scale;
  } else {
    coord = (f32(tok / p.gw) + p.top) * p.scale;
  }
  let j = f % half;
  let k = j % p.quarter;
  let sc = sincos(coord * omega[k]);
  out[i] = select(sc.y, sc.x, j < p.quarter);
}
