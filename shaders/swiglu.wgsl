// swiglu: out[m, i] = silu(x[m, i]) · x[m, I + i] for x = [M, 2I], the fused gate_up projection of Phi-3 (gate is
// the first half of each row, up the second, as tools/rgvlm/model.py Phi3MLP). One invocation per output element,
// WG per workgroup, folded into a second dispatch dimension past 65535 workgroups. gelu_fns.wgsl is prepended.

struct Params {
  n: u32,
  stride: u32,
  inter: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x + gid.y * p.stride;
  if (j >= p.n) {
    return;
  }
  let m = j / p.inter;
  let i = j % p.inter;
  let g = x[m * 2u * p.inter + i];
  let u = x[m * 2u * p.inter + p.inter + i];
  out[j] = silu(g) * u;
}
