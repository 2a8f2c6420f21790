/** @file CPU twin of vae_input: z / scale + shift in f32 (scale and shift rounded to f32 like the uniform's). */
export function vaeInputRef(args: { z: Float32Array; scale: number; shift: number }): Float32Array {
  const scale = Math.fround(args.scale);
  const shift = Math.fround(args.shift);
  return args.z.map((v) => Math.fround(v / scale) + shift);
}
