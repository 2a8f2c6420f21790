/**
 * @file CPU twin of split_qkv: [q | k | v] rows into q [rows, H, D], k and v [kvRow + rows, KV, D] (rows before
 * kvRow are left 0; the kernel leaves them untouched).
 */
export function splitQkvRef(args: {
  qkv: Float32Array;
  rows: number;
  H: number;
  KV: number;
  D: number;
  kvRow?: number;
}): {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
} {
  const { qkv, rows, H, KV, D } = args;
  const kvRow = args.kvRow ?? 0;
  const W = (H + 2 * KV) * D;
  const q = new Float32Array(rows * H * D);
  const k = new Float32Array((kvRow + rows) * KV * D);
  const v = new Float32Array((kvRow + rows) * KV * D);
  for (let r = 0; r < rows; r++) {
    q.set(qkv.subarray(r * W, r * W + H * D), r * H * D);
    k.set(qkv.subarray(r * W + H * D, r * W + (H + KV) * D), (kvRow + r) * KV * D);
    v.set(qkv.subarray(r * W + (H + KV) * D, (r + 1) * W), (kvRow + r) * KV * D);
  }
  return { q, k, v };
}
