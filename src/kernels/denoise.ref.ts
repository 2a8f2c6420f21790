/** @file CPU twin of denoise, one f32 rounding per operation in the kernel's order (pipeline.py `sample`). */

export interface DenoiseRefArgs {
  z: Float32Array;
  dt: number;
  /** Conditional (or only) velocity. */
  vCond: Float32Array;
  /** Unconditional velocity; with `guidance` it enables CFG. */
  vUncond?: Float32Array;
  guidance?: number;
}

/** The latents after one Euler step (a new array). */
export function denoiseRef(args: DenoiseRefArgs): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(args.z.length);
  const g = f(args.guidance ?? 0);
  const dt = f(args.dt);
  for (let i = 0; i < out.length; i++) {
    let v = args.vCond[i]!;
    if (args.guidance !== undefined) {
      const u = args.vUncond![i]!;
      v = f(u + f(g * f(v - u)));
    }
    out[i] = f(args.z[i]! + f(dt * v));
  }
  return out;
}
