// vae_input: the VAE decoder's input out = z / scale + shift (docs/formats.md "VAE"). One invocation per element,
// WG per workgroup, folded into a second dispatch dimension past 65535 workgroups.

struct Params {
  n: u32,
  stride: u32,
  scale: f32,
  shift: f32,
}

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  out[i] = z[i] / p.scale + p.shift;
}
