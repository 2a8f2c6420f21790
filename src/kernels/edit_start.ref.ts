/**
 * @file CPU twin of edit_start: t0 · ((mean − shift) · scale) + (1 − t0) · z in f32, every operand and product
 * rounded to f32 (the GPU may fuse a multiply-add, so tests compare within a few ulps).
 */
export function editStartRef(args: {
  mean: Float32Array;
  z: Float32Array;
  scale: number;
  shift: number;
  t0: number;
}): Float32Array {
  const f = Math.fround;
  const [scale, shift, t0] = [f(args.scale), f(args.shift), f(args.t0)];
  const omt = f(1 - t0);
  return args.z.map((z, i) => f(f(t0 * f(f(args.mean[i]! - shift) * scale)) + f(omt * z)));
}
