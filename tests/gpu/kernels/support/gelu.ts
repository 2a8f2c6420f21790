/**
 * @file gelu, elementwise: exact (erf) GELU by default, as PyTorch's F.gelu and HF's "gelu"; `approximate: 'tanh'`
 * for the tanh form. The same formulas as matmul's fused 'gelu' / 'gelu_tanh' epilogue (shaders/gelu_fns.wgsl).
 *
 * Test support only: it checks shaders/gelu_fns.wgsl against its twin (src/kernels/gelu_fns.ref.ts); no engine runs
 * a standalone GELU.
 */
import type { GpuBatch } from '../../../../src/gpu/batch';
import fns from '../../../../shaders/gelu_fns.wgsl?raw';
import code from './gelu.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from '../../../../src/kernels/dispatch';
import type { GeluApproximate } from './gelu.ref';

export type { GeluApproximate };

/** Invocations per workgroup. */
const WG = 256;

export interface GeluArgs {
  /** F32 [n]. */
  x: GPUBuffer;
  /** F32 [n]; must not be x. */
  out: GPUBuffer;
  n: number;
  /** 'none' (erf, the default) or 'tanh'. */
  approximate?: GeluApproximate;
}

/** Encodes gelu into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function gelu(batch: GpuBatch, args: GeluArgs): void {
  const k = 'gelu';
  const { x, out, n } = args;
  const approximate = args.approximate ?? 'none';
  need(
    k,
    approximate === 'none' || approximate === 'tanh',
    `approximate must be 'none' or 'tanh', got ${String(approximate)}`,
  );
  needCount(k, 'n', n);
  needBytes(k, 'x', x, n * 4);
  needBytes(k, 'out', out, n * 4);
  need(k, out !== x, 'out must not alias x');
  const { groups, stride } = flatGroups(n, WG);
  const pipeline = batch.pipeline(`gelu:${approximate}`, `${fns}\n${code}`, {
    WG,
    TANH: approximate === 'tanh' ? 1 : 0,
  });
  batch.dispatch(pipeline, [x, out, batch.uniform(new Uint32Array([n, stride]))], groups);
}
