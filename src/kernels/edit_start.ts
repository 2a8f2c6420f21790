/**
 * @file edit_start: the Edit start latent, in place on `z` (which holds the seeded noise):
 * z = t0 · x1 + (1 − t0) · z with x1 = (mean − shift) · scale, the VAE encoder's mean in latent units
 * (docs/formats.md "VAE").
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/edit_start.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

/** Invocations per workgroup. */
const WG = 256;

export interface EditStartArgs {
  /** F32 [n]: the VAE encoder's mean. */
  mean: GPUBuffer;
  /** F32 [n]: the noise in, the start latent out; must not be mean. */
  z: GPUBuffer;
  n: number;
  /** The VAE's scaling_factor. */
  scale: number;
  /** The VAE's shift_factor. */
  shift: number;
  /** The start time in [0, 1] (1 − strength). */
  t0: number;
}

/** Encodes edit_start into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function editStart(batch: GpuBatch, args: EditStartArgs): void {
  const k = 'edit_start';
  const { mean, z, n, scale, shift, t0 } = args;
  needCount(k, 'n', n);
  need(k, Number.isFinite(scale) && Number.isFinite(shift), `scale and shift must be finite, got ${scale}, ${shift}`);
  need(k, t0 >= 0 && t0 <= 1, `t0 must be in [0, 1], got ${t0}`);
  needBytes(k, 'mean', mean, n * 4);
  needBytes(k, 'z', z, n * 4);
  need(k, z !== mean, 'z must not alias mean');
  const omt = Math.fround(1 - Math.fround(t0));
  const { groups, stride } = flatGroups(n, WG);
  const u = new ArrayBuffer(32);
  new Uint32Array(u, 0, 2).set([n, stride]);
  new Float32Array(u, 8, 4).set([scale, shift, t0, omt]);
  batch.dispatch(batch.pipeline('edit_start', code, { WG }), [mean, z, batch.uniform(u)], groups);
}
