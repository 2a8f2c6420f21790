/**
 * @file Philox4x32-10 in TypeScript: the CPU twin of shaders/philox.wgsl, used by the noise and sample references
 * (and by anything on the CPU that needs the same random integers as the GPU). Mirrors tools/rgvlm/noise.py
 * (`philox4x32_10`, `philox_uniforms`); the integers are bit-identical to both.
 */

export const PHILOX_M0 = 0xd2511f53;
export const PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9;
export const PHILOX_W1 = 0xbb67ae85;

/** The high 32 bits of the 64-bit product of two u32 values, from 16-bit halves exactly as the WGSL does it. */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Ten Philox4x32 rounds on counter (c0, c1, c2, c3) with key (k0, k1); returns r0..r3. All arguments are u32.
 * Round: (c0, c1, c2, c3) ← (hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0)); key += (W0, W1).
 */
export function philox4x32_10(ctr: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  let c0 = ctr[0]! >>> 0;
  let c1 = ctr[1]! >>> 0;
  let c2 = ctr[2]! >>> 0;
  let c3 = ctr[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  return new Uint32Array([c0, c1, c2, c3]);
}

/**
 * u = ((r >> 8) + 0.5) · 2⁻²⁴ rounded to f32 (round half to even), in [2⁻²⁵, 1]. Below 0.5 the value is exact; from
 * 0.5 up it is half-way between two f32 values and takes the even one, which is 1.0 for r ≥ 0xFFFFFF00. This is
 * what numpy's float64 → float32 cast in `philox_uniforms` gives, and what `philox_uniform` in the WGSL builds.
 */
export function philoxUniform(r: number): number {
  const m = r >>> 8;
  if (m < 0x800000) return (2 * m + 1) * 2 ** -25;
  return (m + (m & 1)) * 2 ** -24;
}
