/**
 * @file CPU twin of noise: mirrors tools/rgvlm/noise.py `seeded_normal` / `latent_noise` (Box-Muller in float64
 * from the f32 uniforms, one rounding to f32 at the end) and `philox_words`.
 */
import { philox4x32_10, philoxUniform } from './philox';

export interface NoiseRefArgs {
  count: number;
  seed: number;
  batch?: number;
}

/** The raw word r_(i mod 4) of Philox(counter (i / 4, 0, 0, 0), key (seed + b, 0)) for every element. */
export function noiseWordsRef(args: NoiseRefArgs): Uint32Array {
  const nb = args.batch ?? 1;
  const out = new Uint32Array(nb * args.count);
  for (let b = 0; b < nb; b++) {
    const key = [(args.seed + b) >>> 0, 0];
    for (let blk = 0; blk * 4 < args.count; blk++) {
      const r = philox4x32_10([blk, 0, 0, 0], key);
      for (let j = 0; j < 4 && blk * 4 + j < args.count; j++) out[b * args.count + blk * 4 + j] = r[j]!;
    }
  }
  return out;
}

/** Standard normals: n0 = √(−2 ln u0)·cos 2πu1, n1 = √(−2 ln u0)·sin 2πu1, n2, n3 likewise from (u2, u3). */
export function noiseRef(args: NoiseRefArgs): Float32Array {
  const nb = args.batch ?? 1;
  const out = new Float32Array(nb * args.count);
  for (let b = 0; b < nb; b++) {
    const key = [(args.seed + b) >>> 0, 0];
    for (let blk = 0; blk * 4 < args.count; blk++) {
      const u = Array.from(philox4x32_10([blk, 0, 0, 0], key), philoxUniform);
      const rad01 = Math.sqrt(-2 * Math.log(u[0]!));
      const rad23 = Math.sqrt(-2 * Math.log(u[2]!));
      const n = [
        rad01 * Math.cos(2 * Math.PI * u[1]!),
        rad01 * Math.sin(2 * Math.PI * u[1]!),
        rad23 * Math.cos(2 * Math.PI * u[3]!),
        rad23 * Math.sin(2 * Math.PI * u[3]!),
      ];
      for (let j = 0; j < 4 && blk * 4 + j < args.count; j++) out[b * args.count + blk * 4 + j] = n[j]!;
    }
  }
  return out;
}
