/**
 * @file softmax over each row of x [rows, dim], numerically stable (the row max is subtracted first). Inputs must be
 * finite: mask with a large negative value (−1e9, as the models do), not −Infinity. One workgroup per row.
 *
 * Test support only: no engine runs a standalone softmax (attention fuses its own), so the kernel lives here.
 */
import type { GpuBatch } from '../../../../src/gpu/batch';
import code from './softmax.wgsl?raw';
import { flatGroups, need, needBytes, needCount, rowWorkgroupSize } from '../../../../src/kernels/dispatch';

export interface SoftmaxArgs {
  /** F32 [rows, dim]. */
  x: GPUBuffer;
  /** F32 [rows, dim]; must not be x. */
  out: GPUBuffer;
  rows: number;
  dim: number;
}

/** Encodes softmax into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function softmax(batch: GpuBatch, args: SoftmaxArgs): void {
  const k = 'softmax';
  const { x, out, rows, dim } = args;
  needCount(k, 'rows', rows);
  needCount(k, 'dim', dim);
  needBytes(k, 'x', x, rows * dim * 4);
  needBytes(k, 'out', out, rows * dim * 4);
  need(k, out !== x, 'out must not alias x');
  const { groups, stride } = flatGroups(rows, 1);
  const wg = rowWorkgroupSize(dim);
  batch.dispatch(
    batch.pipeline(`softmax:wg${wg}`, code, { WG: wg }),
    [x, out, batch.uniform(new Uint32Array([rows, dim, stride, 0]))],
    groups,
  );
}
