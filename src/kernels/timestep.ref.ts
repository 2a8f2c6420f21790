/**
 * @file CPU twin of timestep (tools/rgvlm/model.py `timestep_embedding` of t · scale): arguments rounded to f32 as
 * PyTorch computes them, sin/cos in float64.
 */

export interface TimestepRefArgs {
  dim: number;
  scale: number;
  maxPeriod: number;
}

/** [t.length, dim]: [cos(t·scale·freq_k) for k < dim/2, sin(t·scale·freq_k) for k < dim/2]. */
export function timestepRef(t: Float32Array, args: TimestepRefArgs): Float32Array {
  const f = Math.fround;
  const half = args.dim / 2;
  const c = f(-Math.log(args.maxPeriod));
  const out = new Float32Array(t.length * args.dim);
  for (let b = 0; b < t.length; b++) {
    const ts = f(t[b]! * f(args.scale));
    for (let k = 0; k < half; k++) {
      const a = f(ts * f(Math.exp(f(f(c * k) / half))));
      out[b * args.dim + k] = Math.cos(a);
      out[b * args.dim + half + k] = Math.sin(a);
    }
  }
  return out;
}
