/** @file CPU twin of softmax (f64 arithmetic, f32 result). */
export function softmaxRef(args: { x: Float32Array; rows: number; dim: number }): Float32Array {
  const { x, rows, dim } = args;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * dim, (r + 1) * dim);
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    for (let i = 0; i < dim; i++) out[r * dim + i] = Math.exp(row[i]! - m) / s;
  }
  return out;
}
