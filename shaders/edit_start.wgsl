// edit_start: the Edit start latent, in place on z (which holds the seeded noise): z = t0 · x1 + (1 − t0) · z with
// x1 = (mean − shift) · scale from the VAE encoder's mean. `omt` is 1 − t0 rounded to f32 on the CPU. One
// invocation per element, WG per workgroup, folded into a second dispatch dimension past 65535 workgroups.

struct Params {
  n: u32,
  stride: u32,
  scale: f32,
  shift: f32,
  t0: f32,
  omt: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> mean: array<f32>;
@group(0) @binding(1) var<storage, read_write> z: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  z[i] = p.t0 * ((mean[i] - p.shift) * p.scale) + p.omt * z[i];
}
