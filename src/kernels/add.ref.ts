/** @file CPU twin of add. */
export function addRef(args: { a: Float32Array; b: Float32Array; n?: number }): Float32Array {
  const n = args.n ?? args.a.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = args.a[i]! + args.b[i]!;
  return out;
}
