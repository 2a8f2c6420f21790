// modulate_gate: the gated residual of adaLN-Zero blocks, in place on the residual stream:
// residual <- residual + gate * x, with one gate vector per batch item (row r of [rows, dim] belongs to item
// r / rows_per_item and reads gate[gate_offset + item * mod_stride + c]). The miniature painter in tools/ has no
// gated blocks, so this has no Python counterpart; it follows DiT's `x + gate.unsqueeze(1) * block(x)`.
//
// Elementwise: one invocation per float, 256 per workgroup, a second dispatch dimension past 65535 workgroups.

struct Params {
  total: u32,
  stride: u32,
  dim: u32,
  rows_per_item: u32,
  gate_offset: u32,
  mod_stride: u32,
}

@group(0) @binding(0) var<storage, read_write> residual: array<f32>;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.total) {
    return;
  }
  let g = gate[p.gate_offset + (i / p.dim / p.rows_per_item) * p.mod_stride + i % p.dim];
  residual[i] = residual[i] + g * x[i];
}
