// add in place: a[i] += b[i]. The same kernel as add.wgsl with the output bound to the first operand (WebGPU
// forbids binding one buffer both read-only and writable in a dispatch, hence a layout of its own).

struct Params {
  n: u32,
  stride: u32,
}

@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  a[i] = a[i] + b[i];
}
