// philox_blocks: Philox4x32-10 on arbitrary (counter, key) pairs, for the bit-exact test of the WGSL Philox against
// its TypeScript twin and the Random123 known answers (full 128-bit counters and 64-bit keys, which the noise
// kernel's own counters never reach). Compiled after philox.wgsl.
//
// One invocation per block; input block i is the six words (c0, c1, c2, c3, k0, k1) at 6i, output r0..r3 at 4i.

struct Params {
  n: u32,
  stride: u32,
}

@group(0) @binding(0) var<storage, read> blocks: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  let s = 6u * i;
  let r = philox4x32_10(vec4u(blocks[s], blocks[s + 1u], blocks[s + 2u], blocks[s + 3u]), vec2u(blocks[s + 4u], blocks[s + 5u]));
  out[4u * i] = r.x;
  out[4u * i + 1u] = r.y;
  out[4u * i + 2u] = r.z;
  out[4u * i + 3u] = r.w;
}
