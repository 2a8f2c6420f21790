// assemble_step: the painter's step sequence seq [B, 1 + N, D]: row 0 of every branch is the timestep embedding
// (row temb_off / D of temb), rows 1 … N the embedded patches plus the 2D position table, the same for every
// branch. One invocation per output element, WG per workgroup, folded into a second dispatch dimension past 65535
// workgroups.

struct Params {
  B: u32,
  N: u32,
  D: u32,
  temb_off: u32,
  total: u32,
  stride: u32,
}

@group(0) @binding(0) var<storage, read> temb: array<f32>;
@group(0) @binding(1) var<storage, read> xe: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<f32>;
@group(0) @binding(3) var<storage, read_write> seq: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

override WG: u32;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.total) {
    return;
  }
  let d = i % p.D;
  let r = (i / p.D) % (p.N + 1u);
  if (r == 0u) {
    seq[i] = temb[p.temb_off + d];
  } else {
    seq[i] = xe[(r - 1u) * p.D + d] + pos[(r - 1u) * p.D + d];
  }
}
