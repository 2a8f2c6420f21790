// modulate: adaLN modulation in place, x <- x * (1 + scale) + shift, with one shift/scale vector per batch item:
// row r of x [rows, dim] belongs to item r / rows_per_item and reads shift[shift_offset + item * mod_stride + c]
// (scale likewise), so shift and scale may be separate [batch, dim] buffers or slices of one packed adaLN output
// such as [batch, 2 * dim] (shift first, as `chunk(2)` splits it). Mirrors the modulate line of
// tools/rgvlm/model.py `FinalLayer.forward`, in the same f32 operation order.
//
// Elementwise and memory-bound: one invocation per float, 256 per workgroup, features fastest (coalesced);
// a second dispatch dimension past 65535 workgroups.

struct Params {
  total: u32,          // rows * dim
  stride: u32,         // invocations per row of the 2D dispatch
  dim: u32,
  rows_per_item: u32,
  shift_offset: u32,
  scale_offset: u32,
  mod_stride: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> shift: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.total) {
    return;
  }
  let c = i % p.dim;
  let m = (i / p.dim / p.rows_per_item) * p.mod_stride + c;
  x[i] = x[i] * (1.0f + scale[p.scale_offset + m]) + shift[p.shift_offset + m];
}
