/** @file CPU twin of rmsnorm (f64 arithmetic, f32 result). */
export function rmsnormRef(args: {
  x: Float32Array;
  weight: Float32Array;
  rows: number;
  dim: number;
  eps: number;
}): Float32Array {
  const { x, weight, rows, dim, eps } = args;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += x[r * dim + i]! ** 2;
    const inv = 1 / Math.sqrt(s / dim + eps);
    for (let i = 0; i < dim; i++) out[r * dim + i] = x[r * dim + i]! * inv * weight[i]!;
  }
  return out;
}
