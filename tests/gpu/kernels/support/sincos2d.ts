/**
 * @file sincos2d: the painter's 2D sin-cos position embedding of a gh × gw patch grid, [gh·gw, dim]. Mirrors
 * tools/rgvlm/model.py `sincos_2d` (column half first, then row half; each half [sin…, cos…]).
 *
 * Test support only: the painter computes this table on the CPU (src/models/painter/tables.ts, its twin); this
 * kernel checks the shared WGSL trig (shaders/trig.wgsl) against it.
 */
import type { GpuBatch } from '../../../../src/gpu/batch';
import type { Sincos2dTableArgs } from '../../../../src/models/painter/tables';
import trig from '../../../../shaders/trig.wgsl?raw';
import body from './sincos2d.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from '../../../../src/kernels/dispatch';

const code = `${trig}\n${body}`;

export interface Sincos2dArgs extends Sincos2dTableArgs {
  /** f32 [gh·gw, dim]. */
  out: GPUBuffer;
}

/** omega_k = 1 / base^(k / (dim/4)) for k < dim/4, in PyTorch's f32 steps (model.py `sincos_1d` with dim/2). */
export function sincosOmega(dim: number, base: number): Float32Array<ArrayBuffer> {
  const q = dim / 4;
  const out = new Float32Array(q);
  for (let k = 0; k < q; k++) out[k] = 1 / Math.fround(Math.pow(base, Math.fround(k / q)));
  return out;
}

/** Row and column offsets: (maxSize − grid) // 2 (Python floor division) when maxSize > 0, else 0. */
export function sincosOffsets(gh: number, gw: number, maxSize: number): { top: number; left: number } {
  return maxSize > 0
    ? { top: Math.floor((maxSize - gh) / 2), left: Math.floor((maxSize - gw) / 2) }
    : { top: 0, left: 0 };
}

/** Encodes the position embedding into `batch`. */
export function sincos2d(batch: GpuBatch, args: Sincos2dArgs): void {
  const { gh, gw, dim } = args;
  const base = args.base ?? 10000;
  const scale = args.scale ?? 1;
  needCount('sincos2d', 'gh', gh);
  needCount('sincos2d', 'gw', gw);
  needCount('sincos2d', 'dim', dim);
  needCount('sincos2d', 'maxSize', args.maxSize ?? 0, true);
  need('sincos2d', dim % 4 === 0, `dim must be a multiple of 4, got ${dim}`);
  need(
    'sincos2d',
    base > 0 && Number.isFinite(base) && Number.isFinite(scale),
    `base ${base} and scale ${scale} must be finite, base > 0`,
  );
  needBytes('sincos2d', 'out', args.out, gh * gw * dim * 4);
  const omega = batch.scratch(dim, 'sincos2d omega');
  batch.device.queue.writeBuffer(omega, 0, sincosOmega(dim, base));
  const { top, left } = sincosOffsets(gh, gw, args.maxSize ?? 0);
  const total = gh * gw * dim;
  const { groups, stride } = flatGroups(total, 256);
  const u = new ArrayBuffer(32);
  new Uint32Array(u, 0, 5).set([total, stride, gw, dim, dim / 4]);
  new Float32Array(u, 20, 3).set([top, left, scale]);
  batch.dispatch(batch.pipeline('sincos2d', code), [args.out, omega, batch.uniform(u)], groups);
}
