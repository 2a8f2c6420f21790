// preview: a step preview of the latents [C, H, W] as RGBA8, one pixel per latent position, packed one pixel per
// u32 (r in the low byte, then g, b, alpha 255: the byte order of ImageData). Each channel is a per-pack linear map
// of the latent vector, v = (sum over c of A[ch, c] * z[c]) + bias[ch], in [0, 1] units, and the byte is
// floor(clamp(v, 0, 1) * 255 + 0.5) (round half up, as the VAE output is turned into pixels).
//
// One invocation per pixel, 256 per workgroup; each reads its C latent values (stride H * W, coalesced across the
// workgroup) and the 3 * C + 3 map floats, which every invocation shares through the cache. A second dispatch
// dimension covers more than 65535 workgroups.

struct Params {
  pixels: u32,   // H * W
  stride: u32,   // invocations per row of the 2D dispatch
  channels: u32,
}

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> map: array<f32>; // A [3, C] row-major, then bias [3]
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

fn to_byte(v: f32) -> u32 {
  return u32(floor(clamp(v, 0.0f, 1.0f) * 255.0f + 0.5f));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.pixels) {
    return;
  }
  var rgb = vec3f(0.0f);
  for (var c = 0u; c < p.channels; c++) {
    let v = z[c * p.pixels + i];
    rgb += vec3f(map[c], map[p.channels + c], map[2u * p.channels + c]) * v;
  }
  rgb += vec3f(map[3u * p.channels], map[3u * p.channels + 1u], map[3u * p.channels + 2u]);
  out[i] = to_byte(rgb.x) | (to_byte(rgb.y) << 8u) | (to_byte(rgb.z) << 16u) | (255u << 24u);
}
