/** @file vae_input: the VAE decoder's input out = z / scale + shift (docs/formats.md "VAE"). */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/vae_input.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

/** Invocations per workgroup. */
const WG = 256;

export interface VaeInputArgs {
  /** F32 [n]: latents. */
  z: GPUBuffer;
  /** F32 [n]; must not be z. */
  out: GPUBuffer;
  n: number;
  /** The VAE's scaling_factor. */
  scale: number;
  /** The VAE's shift_factor. */
  shift: number;
}

/** Encodes vae_input into `batch`. Throws KernelArgError, before encoding anything, on bad arguments. */
export function vaeInput(batch: GpuBatch, args: VaeInputArgs): void {
  const k = 'vae_input';
  const { z, out, n, scale, shift } = args;
  needCount(k, 'n', n);
  need(k, Number.isFinite(scale) && scale !== 0, `scale must be a finite non-zero number, got ${scale}`);
  need(k, Number.isFinite(shift), `shift must be finite, got ${shift}`);
  needBytes(k, 'z', z, n * 4);
  needBytes(k, 'out', out, n * 4);
  need(k, out !== z, 'out must not alias z');
  const { groups, stride } = flatGroups(n, WG);
  const u = new ArrayBuffer(16);
  new Uint32Array(u, 0, 2).set([n, stride]);
  new Float32Array(u, 8, 2).set([scale, shift]);
  batch.dispatch(batch.pipeline('vae_input', code, { WG }), [z, out, batch.uniform(u)], groups);
}
