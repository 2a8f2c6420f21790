/**
 * @file rmsnorm: out = x · rsqrt(mean(x²) + eps) · weight over each row of x [rows, dim] (the RMSNorm of the Qwen2
 * and Phi-3 layers). One workgroup per row.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/rmsnorm.wgsl?raw';
import { flatGroups, need, needBytes, needCount, rowWorkgroupSize } from './dispatch';

export interface RmsnormArgs {
  /** F32 [rows, dim]. */
  x: GPUBuffer;
  /** F32 [dim]. */
  weight: GPUBuffer;
  /** F32 [rows, dim]; must not be x. */
  out: GPUBuffer;
  rows: number;
  dim: number;
  eps: number;
}

/** Encodes rmsnorm into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function rmsnorm(batch: GpuBatch, args: RmsnormArgs): void {
  const k = 'rmsnorm';
  const { x, weight, out, rows, dim, eps } = args;
  needCount(k, 'rows', rows);
  needCount(k, 'dim', dim);
  need(k, Number.isFinite(eps) && eps >= 0, `eps must be a finite non-negative number, got ${eps}`);
  needBytes(k, 'x', x, rows * dim * 4);
  needBytes(k, 'weight', weight, dim * 4);
  needBytes(k, 'out', out, rows * dim * 4);
  need(k, out !== x && out !== weight, `out must not alias ${out === x ? 'x' : 'weight'}`);
  const { groups, stride } = flatGroups(rows, 1);
  const u = new ArrayBuffer(16);
  new Uint32Array(u, 0, 3).set([rows, dim, stride]);
  new Float32Array(u, 12, 1)[0] = eps;
  const wg = rowWorkgroupSize(dim);
  batch.dispatch(batch.pipeline(`rmsnorm:wg${wg}`, code, { WG: wg }), [x, weight, out, batch.uniform(u)], groups);
}
