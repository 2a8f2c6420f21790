// timestep: the sinusoidal timestep embedding of a batch of t, [batch, dim] with dim = 2 * half:
// out[b, j] = cos(t_b * scale * freq_j) for j < half and sin(t_b * scale * freq_(j - half)) after, in f32 steps.
// Mirrors tools/rgvlm/model.py `TimestepEmbedder.forward` up to `timestep_embedding` ([cos, sin] order, DiT /
// OmniGen). freq comes from the host (exp(-ln(max_period) * k / half) rounded as PyTorch rounds it); sin/cos come
// from trig.wgsl, compiled in front of this text, and stay accurate for arguments up to 1000 rad.
//
// One invocation per output float, 256 per workgroup; the whole output is a few KiB, so nothing is tiled.

struct Params {
  total: u32,  // batch * 2 * half
  half: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> t: array<f32>;
@group(0) @binding(1) var<storage, read> freq: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.total) {
    return;
  }
  let j = i % (2u * p.half);
  let b = i / (2u * p.half);
  let k = j % p.half;
  let sc = sincos((t[b] * p.scale) * freq[k]);
  out[i] = select(sc.x, sc.y, j < p.half);
}
