// philox: Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3") and the f32 uniform
// of docs/formats.md. A snippet, not a kernel: src/kernels/noise.ts, sample.ts and philox_blocks.ts put this text
// in front of their own shader (WGSL has no #include). The TypeScript twin is src/kernels/philox.ts.
//
// WGSL has no 64-bit integers, so the 32x32 -> 64-bit product the rounds need is split: the low word is the
// wrapping u32 product, the high word is assembled from four 16x16 -> 32-bit partial products (mulhi32).

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// The high 32 bits of the 64-bit product a * b.
fn mulhi32(a: u32, b: u32) -> u32 {
  let al = a & 0xFFFFu;
  let ah = a >> 16u;
  let bl = b & 0xFFFFu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let hl = ah * bl;
  let hh = ah * bh;
  // Carries out of bit 31 of the low word: at most 3 * 0xFFFF, so this sum cannot overflow.
  let mid = (ll >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
  return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

// Ten rounds of Philox4x32 on counter `ctr` with key `key`; returns the four output words r0..r3.
fn philox4x32_10(ctr: vec4u, key: vec2u) -> vec4u {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let hi0 = mulhi32(PHILOX_M0, c.x);
    let lo0 = PHILOX_M0 * c.x;
    let hi1 = mulhi32(PHILOX_M1, c.z);
    let lo1 = PHILOX_M1 * c.z;
    c = vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += vec2u(PHILOX_W0, PHILOX_W1);
  }
  return c;
}

// u = ((r >> 8) + 0.5) * 2^-24 rounded to f32 (round half to even), built from integers so that no float
// rounding mode is involved: below 0.5 the value has at most 24 significant bits and is exact; from 0.5 up it
// lies half-way between two f32 values and takes the even one (m + (m & 1)) * 2^-24, which is 1.0 for the
// largest m. Range: [2^-25, 1].
fn philox_uniform(r: u32) -> f32 {
  let m = r >> 8u;
  if (m < 0x800000u) {
    return f32(2u * m + 1u) * 0x1p-25f;
  }
  return f32(m + (m & 1u)) * 0x1p-24f;
}
