// unpatchify: patch tokens [B, (H/p)(W/p), C*p*p] -> latents NCHW [B, C, H, W], the inverse of patchify (token
// r * gw + col, feature c * p * p + py * p + px). Mirrors tools/rgvlm/model.py `unpatchify`.
//
// A pure gather: one invocation per output float, 256 per workgroup (coalesced writes of the NCHW image). A second
// dispatch dimension covers more than 65535 workgroups.

struct Params {
  total: u32,   // B * C * H * W
  stride: u32,  // invocations per row of the 2D dispatch
  c: u32,
  h: u32,
  w: u32,
  p: u32,
}

@group(0) @binding(0) var<storage, read> tokens: array<f32>;
@group(0) @binding(1) var<storage, read_write> latents: array<f32>;
@group(0) @binding(2) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * u.stride;
  if (i >= u.total) {
    return;
  }
  let x = i % u.w;
  let y = (i / u.w) % u.h;
  let ch = (i / (u.w * u.h)) % u.c;
  let b = i / (u.w * u.h * u.c);
  let gw = u.w / u.p;
  let ntok = (u.h / u.p) * gw;
  let tok = (y / u.p) * gw + x / u.p;
  let f = (ch * u.p + y % u.p) * u.p + x % u.p;
  latents[i] = tokens[(b * ntok + tok) * (u.c * u.p * u.p) + f];
}
