// rope: rotary position embedding in place, half-split (GPT-NeoX / rotate_half) pairing: for head vector x of
// length D and i < D/2, angle = pos * inv_freq[i] and
//   x[i]       <- x[i] * cos - x[i + D/2] * sin
//   x[i + D/2] <- x[i + D/2] * cos + x[i] * sin.
// Mirrors tools/rgvlm/model.py `rope_cos_sin` + `apply_rope` (rotary dim = head dim). inv_freq comes from the host
// (rounded to f32 as PyTorch does, Phi-3 LongRoPE's factors folded in, one table per set of set_rows tokens);
// sin/cos come from trig.wgsl, compiled in front of this text, which stays accurate for the large angles of long
// sequences; LongRoPE multiplies both by `scale` (1 otherwise, which changes no bit).
//
// Rows are [row_stride] floats; the rotated heads start at head_offset, so one dispatch can rotate Q and K inside a
// packed QKV row. One invocation per (token, head, pair), pairs fastest so that neighbouring invocations touch
// neighbouring floats; 256 per workgroup, a second dispatch dimension past 65535 workgroups.

struct Params {
  total: u32,      // tokens * heads * half
  stride: u32,     // invocations per row of the 2D dispatch
  heads: u32,
  half: u32,       // head_dim / 2
  head_dim: u32,
  row_stride: u32,
  head_offset: u32,
  set_rows: u32,   // tokens per inv_freq set (LongRoPE factors per sequence); tokens when there is one set
  scale: f32,      // multiplies cos and sin (LongRoPE); 1 keeps plain RoPE exact
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> pos: array<u32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * p.stride;
  if (t >= p.total) {
    return;
  }
  let i = t % p.half;
  let r = t / p.half;
  let h = r % p.heads;
  let s = r / p.heads;
  let base = s * p.row_stride + p.head_offset + h * p.head_dim + i;
  let sc = sincos(f32(pos[s]) * inv_freq[(s / p.set_rows) * p.half + i]) * p.scale;
  let a = x[base];
  let b = x[base + p.half];
  x[base] = a * sc.y - b * sc.x;
  x[base + p.half] = b * sc.y + a * sc.x;
}
