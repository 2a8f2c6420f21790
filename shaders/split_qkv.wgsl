// split_qkv: fused qkv rows [R, (H + 2KV)·D] (RoPE already applied in place) into q [R, H, D], k and v [R, KV, D],
// the attention kernel's layouts; k and v rows start at row kvRow (a prompt chunk into a K/V cache). One invocation per input element, WG per workgroup, folded into a second dispatch
// dimension past 65535 workgroups.

struct Params {
  H: u32,
  KV: u32,
  D: u32,
  total: u32,
  stride: u32,
  kvRow: u32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

override WG: u32;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let idx = gid.x + gid.y * p.stride;
  if (idx >= p.total) {
    return;
  }
  let W = (p.H + 2u * p.KV) * p.D;
  let row = idx / W;
  let col = idx % W;
  let head = col / p.D;
  let d = col % p.D;
  if (head < p.H) {
    q[row * p.H * p.D + col] = qkv[idx];
  } else if (head < p.H + p.KV) {
    k[(p.kvRow + row) * p.KV * p.D + (head - p.H) * p.D + d] = qkv[idx];
  } else {
    v[(p.kvRow + row) * p.KV * p.D + (head - p.H - p.KV) * p.D + d] = qkv[idx];
  }
}
