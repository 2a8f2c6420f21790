// denoise: one rectified-flow Euler step with the classifier-free-guidance combine fused in, in place on the
// latents: v = v_u + g * (v_c - v_u); z = z + dt * v (dt = sigma_next - sigma). Without CFG (override CFG = false)
// v = v_c. Mirrors the loop body of tools/rgvlm/pipeline.py `sample`, in the same f32 operation order.
//
// Purely elementwise and memory-bound: one invocation per latent element, 256 per workgroup, a second dispatch
// dimension past 65535 workgroups. The unconditional velocity is read at u_offset + i, so it may live in its own
// buffer (u_offset 0) or in the second half of one [2, n] buffer holding both branches (u_offset n).

struct Params {
  n: u32,
  stride: u32,
  u_offset: u32,
  g: f32,
  dt: f32,
}

override CFG: bool = true;

@group(0) @binding(0) var<storage, read_write> z: array<f32>;
@group(0) @binding(1) var<storage, read> v_cond: array<f32>;
@group(0) @binding(2) var<storage, read> v_uncond: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  var v = v_cond[i];
  if (CFG) {
    let u = v_uncond[p.u_offset + i];
    v = u + p.g * (v - u);
  }
  z[i] = z[i] + p.dt * v;
}
