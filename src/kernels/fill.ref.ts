/** @file CPU twin of fill. */
export function fillRef(args: { n: number; a: number; b: number }): Float32Array {
  const out = new Float32Array(args.n);
  for (let i = 0; i < args.n; i++) out[i] = Math.fround(Math.fround(args.a * i) + args.b);
  return out;
}
