// noise: seeded standard-normal latents, docs/formats.md "Seeded noise": element i of latent b takes lane i mod 4
// of Philox4x32-10(counter (i / 4, 0, 0, 0), key (seed + b, 0)), turned into normals by Box-Muller on the pairs
// (u0, u1) and (u2, u3). Compiled after philox.wgsl and trig.wgsl.
//
// One invocation per Philox counter, i.e. per group of four consecutive elements, 256 per workgroup; a second
// dispatch dimension covers more than 65535 workgroups (flat index x + y * stride). The last group of a latent
// whose length is not a multiple of 4 writes only the lanes it has. With OUTPUT_WORDS the raw Philox words are
// written instead of the normals (the bit-exact check of the integer stream).
//
// Box-Muller uses its own logarithm and trig polynomials (not the GPU's log/sin/cos, whose accuracy WGSL leaves
// loose), so the normals agree with the float64 twin to a few f32 ulp on any GPU.

struct Params {
  n: u32,          // elements per latent
  blocks: u32,     // Philox counters per latent: ceil(n / 4)
  total: u32,      // blocks * batch
  stride: u32,     // invocations per row of the 2D dispatch
  seed: u32,
  out_offset: u32, // first element written in `out`
}

override OUTPUT_WORDS: bool = false;

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

const LN2_HI: f32 = 0.693145751953125f; // 16 significant bits: e * LN2_HI is exact for the exponents seen here
const LN2_LO: f32 = 1.42860682030941723212e-6f;
const SQRT2: f32 = 1.41421356f;

// -2 ln(u) for u in [2^-25, 1]: u = f * 2^e with f in [sqrt(1/2), sqrt(2)], ln f = 2 atanh(s), s = (f-1)/(f+1),
// |s| < 0.172, by its odd series to s^11 (truncation below 1e-9 relative).
fn neg2log(u: f32) -> f32 {
  let bits = bitcast<u32>(u);
  var e = i32(bits >> 23u) - 127;
  var f = bitcast<f32>((bits & 0x7FFFFFu) | 0x3F800000u);
  if (f > SQRT2) {
    f = f * 0.5f;
    e += 1;
  }
  let s = (f - 1.0f) / (f + 1.0f);
  let z = s * s;
  let poly = z * (0.33333333f + z * (0.2f + z * (0.14285715f + z * (0.11111111f + z * 0.09090909f))));
  let lnf = 2.0f * s + 2.0f * s * poly;
  let ef = f32(e);
  return -2.0f * (ef * LN2_HI + (ef * LN2_LO + lnf));
}

// (sin, cos) of 2 pi u for u in [0, 1]: 4u = q + r exactly (q the nearest integer), angle = q * pi/2 + r * pi/2.
fn sincos_turn(u: f32) -> vec2f {
  let t = 4.0f * u;
  let q = floor(t + 0.5f);
  return sincos_quadrant((t - q) * TRIG_PI_OVER_2, i32(q));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let g = gid.x + gid.y * p.stride;
  if (g >= p.total) {
    return;
  }
  let b = g / p.blocks;
  let blk = g - b * p.blocks;
  let r = philox4x32_10(vec4u(blk, 0u, 0u, 0u), vec2u(p.seed + b, 0u));
  var v = r;
  if (!OUTPUT_WORDS) {
    let rad01 = sqrt(neg2log(philox_uniform(r.x)));
    let rad23 = sqrt(neg2log(philox_uniform(r.z)));
    let a = sincos_turn(philox_uniform(r.y));
    let c = sincos_turn(philox_uniform(r.w));
    v = bitcast<vec4u>(vec4f(rad01 * a.y, rad01 * a.x, rad23 * c.y, rad23 * c.x));
  }
  let base = p.out_offset + b * p.n + blk * 4u;
  let count = min(4u, p.n - blk * 4u);
  for (var j = 0u; j < count; j++) {
    out[base + j] = v[j];
  }
}
