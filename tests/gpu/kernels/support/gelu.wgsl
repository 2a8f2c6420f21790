// gelu, elementwise: out[i] = gelu(x[i]), exact (erf, TANH false) or the tanh approximation (TANH true); the
// formulas are in gelu_fns.wgsl (prepended), shared with matmul's fused epilogue. One invocation per element, WG
// per workgroup, folded into a second dispatch dimension past 65535 workgroups.

struct Params {
  n: u32,
  stride: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;
override TANH: bool;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  let v = x[i];
  out[i] = select(gelu_erf(v), gelu_tanh(v), TANH);
}
