/**
 * @file patchify: latents NCHW [B, C, H, W] → patch tokens [B, (H/p)(W/p), C·p·p] in the painter's flatten order
 * (token r·(W/p) + col, feature c·p·p + py·p + px). Mirrors tools/rgvlm/model.py `patchify`; the inverse is
 * unpatchify.ts.
 */
import type { GpuBatch } from '../gpu/batch';
import patchifyCode from '../../shaders/patchify.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

export interface PatchShape {
  batch: number;
  channels: number;
  height: number;
  width: number;
  /** Patch size p; height and width must be multiples of it. */
  patch: number;
}

/** Validates a patch shape for `kernel` and returns the float count B·C·H·W. */
export function checkPatchShape(kernel: string, s: PatchShape): number {
  needCount(kernel, 'batch', s.batch);
  needCount(kernel, 'channels', s.channels);
  needCount(kernel, 'height', s.height);
  needCount(kernel, 'width', s.width);
  needCount(kernel, 'patch', s.patch);
  need(
    kernel,
    s.height % s.patch === 0 && s.width % s.patch === 0,
    `height ${s.height} and width ${s.width} must be multiples of patch ${s.patch}`,
  );
  return s.batch * s.channels * s.height * s.width;
}

/** Encodes one gather pass of patchify.wgsl or unpatchify.wgsl (same uniforms). */
export function encodePatchPass(
  batch: GpuBatch,
  key: string,
  code: string,
  src: GPUBuffer,
  dst: GPUBuffer,
  s: PatchShape,
  total: number,
): void {
  const { groups, stride } = flatGroups(total, 256);
  const u = new Uint32Array([total, stride, s.channels, s.height, s.width, s.patch]);
  batch.dispatch(batch.pipeline(key, code), [src, dst, batch.uniform(u)], groups);
}

/** Encodes latents [B, C, H, W] → tokens [B, (H/p)(W/p), C·p·p] into `batch`. */
export function patchify(batch: GpuBatch, args: PatchShape & { latents: GPUBuffer; tokens: GPUBuffer }): void {
  const total = checkPatchShape('patchify', args);
  needBytes('patchify', 'latents', args.latents, total * 4);
  needBytes('patchify', 'tokens', args.tokens, total * 4);
  encodePatchPass(batch, 'patchify', patchifyCode, args.latents, args.tokens, args, total);
}
