// patchify: latents NCHW [B, C, H, W] -> patch tokens [B, (H/p)(W/p), C*p*p], token r * gw + col, feature
// c * p * p + py * p + px. Mirrors tools/rgvlm/model.py `patchify` (reshape + permute(0, 2, 4, 1, 3, 5)).
//
// A pure gather: one invocation per output float, 256 per workgroup, so writes are coalesced and each read is one
// load (the latents are small; reads within a token stride over channels). A second dispatch dimension covers
// more than 65535 workgroups.

struct Params {
  total: u32,   // B * C * H * W
  stride: u32,  // invocations per row of the 2D dispatch
  c: u32,
  h: u32,
  w: u32,
  p: u32,
}

@group(0) @binding(0) var<storage, read> latents: array<f32>;
@group(0) @binding(1) var<storage, read_write> tokens: array<f32>;
@group(0) @binding(2) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * u.stride;
  if (i >= u.total) {
    return;
  }
  let pp = u.p * u.p;
  let feats = u.c * pp;
  let gw = u.w / u.p;
  let ntok = (u.h / u.p) * gw;
  let f = i % feats;
  let tok = (i / feats) % ntok;
  let b = i / (feats * ntok);
  let ch = f / pp;
  let py = (f % pp) / u.p;
  let px = f % u.p;
  let y = (tok / gw) * u.p + py;
  let x = (tok % gw) * u.p + px;
  tokens[i] = latents[((b * u.c + ch) * u.h + y) * u.w + x];
}
