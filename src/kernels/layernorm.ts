/**
 * @file layernorm: out = (x − μ) · rsqrt(var + eps) · weight + bias over each row of x [rows, dim], biased variance
 * (torch.nn.LayerNorm); weight and bias optional (the painter's final norm has neither). One workgroup per row.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/layernorm.wgsl?raw';
import { flatGroups, need, needBytes, needCount, rowWorkgroupSize } from './dispatch';

export interface LayernormArgs {
  /** F32 [rows, dim]. */
  x: GPUBuffer;
  /** F32 [dim], optional. */
  weight?: GPUBuffer;
  /** F32 [dim], optional. */
  bias?: GPUBuffer;
  /** F32 [rows, dim]; must not be an input. */
  out: GPUBuffer;
  rows: number;
  dim: number;
  eps: number;
}

/** Encodes layernorm into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function layernorm(batch: GpuBatch, args: LayernormArgs): void {
  const k = 'layernorm';
  const { x, weight, bias, out, rows, dim, eps } = args;
  needCount(k, 'rows', rows);
  needCount(k, 'dim', dim);
  need(k, Number.isFinite(eps) && eps >= 0, `eps must be a finite non-negative number, got ${eps}`);
  needBytes(k, 'x', x, rows * dim * 4);
  if (weight) needBytes(k, 'weight', weight, dim * 4);
  if (bias) needBytes(k, 'bias', bias, dim * 4);
  needBytes(k, 'out', out, rows * dim * 4);
  for (const [name, b] of [
    ['x', x],
    ['weight', weight],
    ['bias', bias],
  ] as const)
    need(k, out !== b, `out must not alias ${name}`);
  const { groups, stride } = flatGroups(rows, 1);
  const u = new ArrayBuffer(16);
  new Uint32Array(u, 0, 3).set([rows, dim, stride]);
  new Float32Array(u, 12, 1)[0] = eps;
  const wg = rowWorkgroupSize(dim);
  const key = `layernorm:${weight ? 'w' : ''}${bias ? 'b' : ''}:wg${wg}`;
  const pipeline = batch.pipeline(key, code, { HAS_WEIGHT: weight ? 1 : 0, HAS_BIAS: bias ? 1 : 0, WG: wg });
  // An absent weight or bias is bound to x (read-only, never read by that pipeline).
  batch.dispatch(pipeline, [x, weight ?? x, bias ?? x, out, batch.uniform(u)], groups);
}
