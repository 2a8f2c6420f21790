/**
 * @file CPU twin of rope (tools/rgvlm/model.py `rope_cos_sin` + `apply_rope`): the angle rounded to f32 as PyTorch
 * computes it, cos/sin in float64; LongRoPE's factors divide inv_freq and `scale` multiplies cos and sin.
 */

export interface RopeRefArgs {
  tokens: number;
  heads: number;
  headDim: number;
  theta: number;
  rowStride?: number;
  headOffset?: number;
  /** One set of headDim / 2 divisors, or one per run of tokens / sets tokens (rope.ts `factors`). */
  factors?: readonly ArrayLike<number>[];
  scale?: number;
}

/** `x` [tokens, rowStride] with the heads rotated by `pos` (a new array; other floats copied unchanged). */
export function ropeRef(x: Float32Array, pos: Uint32Array, args: RopeRefArgs): Float32Array {
  const { tokens, heads, headDim, theta } = args;
  const rowStride = args.rowStride ?? heads * headDim;
  const off = args.headOffset ?? 0;
  const half = headDim / 2;
  const sets = args.factors ?? [undefined];
  const setRows = tokens / sets.length;
  const scale = args.scale ?? 1;
  const out = Float32Array.from(x);
  for (let i = 0; i < half; i++) {
    const pow = Math.fround(theta ** Math.fround((2 * i) / headDim));
    for (let s = 0; s < tokens; s++) {
      const f = sets[Math.floor(s / setRows)];
      const invFreq = Math.fround(1 / (f ? Math.fround(Math.fround(f[i]!) * pow) : pow));
      const angle = Math.fround(pos[s]! * invFreq);
      const c = Math.cos(angle) * scale;
      const sn = Math.sin(angle) * scale;
      for (let h = 0; h < heads; h++) {
        const base = s * rowStride + off + h * headDim + i;
        const a = x[base]!;
        const b = x[base + half]!;
        out[base] = a * c - b * sn;
        out[base + half] = b * c + a * sn;
      }
    }
  }
  return out;
}
