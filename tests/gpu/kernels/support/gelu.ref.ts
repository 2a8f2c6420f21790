/** @file CPU twin of gelu (tests/gpu/kernels/support/gelu.ts), on the scalar functions of gelu_fns.ref.ts. */
import { geluErf, geluTanh } from '../../../../src/kernels/gelu_fns.ref';

export type GeluApproximate = 'none' | 'tanh';

/** out[i] = gelu(x[i]), rounded to f32. */
export function geluRef(args: { x: Float32Array; n?: number; approximate?: GeluApproximate }): Float32Array {
  const n = args.n ?? args.x.length;
  const f = (args.approximate ?? 'none') === 'tanh' ? geluTanh : geluErf;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(args.x[i]!);
  return out;
}
