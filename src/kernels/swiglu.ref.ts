/** @file CPU twin of swiglu: silu(gate) · up with gate = the first half of each row, up = the second. */
import { silu } from './gelu_fns.ref';

export function swigluRef(args: { x: Float32Array; rows: number; inter: number }): Float32Array {
  const { x, rows, inter } = args;
  const out = new Float32Array(rows * inter);
  for (let m = 0; m < rows; m++) {
    for (let i = 0; i < inter; i++) out[m * inter + i] = silu(x[m * 2 * inter + i]!) * x[m * 2 * inter + inter + i]!;
  }
  return out;
}
