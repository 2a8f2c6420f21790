// add: out[i] = a[i] + b[i] (the residual stream). One invocation per element, WG per workgroup; a second dispatch
// dimension covers n beyond 65535 workgroups (i = x + y · stride). add_inplace.wgsl is the same with out = a.

struct Params {
  n: u32,
  stride: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG: u32;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  out[i] = a[i] + b[i];
}
