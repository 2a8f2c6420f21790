/**
 * @file add: out = a + b elementwise (the residual stream). `out` may be `a` (or `b`): then the sum is written in
 * place, through a kernel that binds that operand writable.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/add.wgsl?raw';
import inplace from '../../shaders/add_inplace.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

/** Invocations per workgroup. */
const WG = 256;

export interface AddArgs {
  /** F32 [n]. */
  a: GPUBuffer;
  /** F32 [n]. */
  b: GPUBuffer;
  /** F32 [n]; may be a or b (in place), not both. */
  out: GPUBuffer;
  n: number;
}

/** Encodes add into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function add(batch: GpuBatch, args: AddArgs): void {
  const k = 'add';
  const { a, b, out, n } = args;
  needCount(k, 'n', n);
  needBytes(k, 'a', a, n * 4);
  needBytes(k, 'b', b, n * 4);
  needBytes(k, 'out', out, n * 4);
  need(k, !(out === a && out === b), 'out may alias a or b, not both at once');
  const { groups, stride } = flatGroups(n, WG);
  const u = batch.uniform(new Uint32Array([n, stride]));
  if (out === a || out === b) {
    // f32 addition is commutative, so b += a is a += b bit for bit.
    const [acc, other] = out === a ? [a, b] : [b, a];
    batch.dispatch(batch.pipeline('add_inplace', inplace, { WG }), [acc, other, u], groups);
  } else {
    batch.dispatch(batch.pipeline('add', code, { WG }), [a, b, out, u], groups);
  }
}
