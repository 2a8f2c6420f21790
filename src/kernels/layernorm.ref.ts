/** @file CPU twin of layernorm (two-pass mean and biased variance in f64, f32 result). */
export function layernormRef(args: {
  x: Float32Array;
  weight?: Float32Array;
  bias?: Float32Array;
  rows: number;
  dim: number;
  eps: number;
}): Float32Array {
  const { x, weight, bias, rows, dim, eps } = args;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * dim, (r + 1) * dim);
    let mean = 0;
    for (const v of row) mean += v;
    mean /= dim;
    let q = 0;
    for (const v of row) q += (v - mean) ** 2;
    const inv = 1 / Math.sqrt(q / dim + eps);
    for (let i = 0; i < dim; i++) {
      let v = (row[i]! - mean) * inv;
      if (weight) v *= weight[i]!;
      if (bias) v += bias[i]!;
      out[r * dim + i] = v;
    }
  }
  return out;
}
