/**
 * @file fill: out[i] = a · i + b. The smallest kernel; the self-test uses it to write a buffer that onnxruntime-web
 * then reads on the same device.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/fill.wgsl?raw';
import { flatGroups, needBytes, needCount } from './dispatch';

export interface FillArgs {
  out: GPUBuffer;
  n: number;
  a: number;
  b: number;
}

/** Encodes fill into `batch`. */
export function fill(batch: GpuBatch, args: FillArgs): void {
  needCount('fill', 'n', args.n);
  needBytes('fill', 'out', args.out, args.n * 4);
  const { groups, stride } = flatGroups(args.n, 256);
  const u = new ArrayBuffer(16);
  new Uint32Array(u, 0, 2).set([args.n, stride]);
  new Float32Array(u, 8, 2).set([args.a, args.b]);
  batch.dispatch(batch.pipeline('fill', code), [args.out, batch.uniform(u)], groups);
}
