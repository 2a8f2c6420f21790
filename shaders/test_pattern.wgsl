// test_pattern: an RGBA8 gradient (packed one pixel per u32), red along x, green along y, blue on a checker.
// One invocation per pixel in 16x16 workgroups, so each workgroup covers one square tile of the image.

struct Params {
  width: u32,
  height: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= p.width || gid.y >= p.height) {
    return;
  }
  let r = (gid.x * 255u) / max(p.width - 1u, 1u);
  let g = (gid.y * 255u) / max(p.height - 1u, 1u);
  let b = select(64u, 192u, ((gid.x / 8u) + (gid.y / 8u)) % 2u == 0u);
  out[gid.y * p.width + gid.x] = r | (g << 8u) | (b << 16u) | (255u << 24u);
}
