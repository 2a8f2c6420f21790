/**
 * @file swiglu: out[m, i] = silu(x[m, i]) · x[m, I + i] for x [rows, 2I], the output of Phi-3's fused gate_up_proj
 * (gate first, up second, as tools/rgvlm/model.py). Elementwise, one invocation per output.
 */
import type { GpuBatch } from '../gpu/batch';
import fns from '../../shaders/gelu_fns.wgsl?raw';
import code from '../../shaders/swiglu.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

/** Invocations per workgroup. */
const WG = 256;

export interface SwigluArgs {
  /** F32 [rows, 2 · inter]: [gate | up] per row. */
  x: GPUBuffer;
  /** F32 [rows, inter]; must not be x. */
  out: GPUBuffer;
  rows: number;
  /** The intermediate size I (half of x's row). */
  inter: number;
}

/** Encodes swiglu into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function swiglu(batch: GpuBatch, args: SwigluArgs): void {
  const k = 'swiglu';
  const { x, out, rows, inter } = args;
  needCount(k, 'rows', rows);
  needCount(k, 'inter', inter);
  needBytes(k, 'x', x, rows * 2 * inter * 4);
  needBytes(k, 'out', out, rows * inter * 4);
  need(k, out !== x, 'out must not alias x');
  const n = rows * inter;
  const { groups, stride } = flatGroups(n, WG);
  const pipeline = batch.pipeline('swiglu', `${fns}\n${code}`, { WG });
  batch.dispatch(pipeline, [x, out, batch.uniform(new Uint32Array([n, stride, inter, 0]))], groups);
}
