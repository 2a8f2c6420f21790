// fill: out[i] = a * i + b for i < n.
// One invocation per element, 256 per workgroup (the largest size every adapter allows); a second dispatch
// dimension covers n beyond 65535 workgroups, so the flat index is x + y * stride.

struct Params {
  n: u32,
  stride: u32,
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  out[i] = p.a * f32(i) + p.b;
}
