/**
 * @file CPU twin of matmul: y[M, N] = act(x[M, K] · Wᵀ + bias) with the weights dequantised exactly as the kernel
 * does (q · s in f32), the dot products summed in f64 and the result rounded to f32 once.
 */
import { dequantizeInt4, dequantizeInt8, fromBf16, fromF16 } from './quantize';
import { geluErf, geluTanh, silu } from './gelu_fns.ref';
import type { MatmulActivation } from './matmul';

/** The CPU form of LinearWeight: the same tensors as typed arrays. */
export type LinearWeightData =
  | { format: 'f32'; out: number; in: number; weight: Float32Array }
  | { format: 'f16'; out: number; in: number; weight: Uint16Array }
  | { format: 'int8'; out: number; in: number; weightQ: Int8Array; weightScale: Float32Array }
  | { format: 'int4'; out: number; in: number; weightQ4: Uint8Array; weightScale: Float32Array }
  | { format: 'bf16'; out: number; in: number; weight: Uint16Array };

/** The f32 weights [out, in] that a LinearWeightData stands for. */
export function dequantizeWeight(w: LinearWeightData): Float32Array {
  switch (w.format) {
    case 'f32':
      return w.weight;
    case 'f16':
      return fromF16(w.weight);
    case 'bf16':
      return fromBf16(w.weight);
    case 'int8':
      return dequantizeInt8(w.weightQ, w.weightScale, w.out, w.in);
    case 'int4':
      return dequantizeInt4(w.weightQ4, w.weightScale, w.out, w.in);
  }
}

const ACTS: Record<MatmulActivation, (v: number) => number> = {
  none: (v) => v,
  gelu: geluErf,
  gelu_tanh: geluTanh,
  silu,
};

export function matmulRef(args: {
  x: Float32Array;
  weight: LinearWeightData;
  bias?: Float32Array;
  M: number;
  K: number;
  activation?: MatmulActivation;
}): Float32Array {
  const { x, weight, bias, M, K } = args;
  if (weight.in !== K)
    throw new RangeError(`matmulRef: x has K = ${K} but the weight is [${weight.out}, ${weight.in}]`);
  const N = weight.out;
  const w = dequantizeWeight(weight);
  const act = ACTS[args.activation ?? 'none'];
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
      if (bias) s += bias[n]!;
      y[m * N + n] = act(s);
    }
  }
  return y;
}
