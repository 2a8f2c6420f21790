/**
 * @file unpatchify: patch tokens [B, (H/p)(W/p), C·p·p] → latents NCHW [B, C, H, W], the inverse of patchify.
 * Mirrors tools/rgvlm/model.py `unpatchify`.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/unpatchify.wgsl?raw';
import { checkPatchShape, encodePatchPass, type PatchShape } from './patchify';
import { needBytes } from './dispatch';

/** Encodes tokens [B, (H/p)(W/p), C·p·p] → latents [B, C, H, W] into `batch`. */
export function unpatchify(batch: GpuBatch, args: PatchShape & { tokens: GPUBuffer; latents: GPUBuffer }): void {
  const total = checkPatchShape('unpatchify', args);
  needBytes('unpatchify', 'tokens', args.tokens, total * 4);
  needBytes('unpatchify', 'latents', args.latents, total * 4);
  encodePatchPass(batch, 'unpatchify', code, args.tokens, args.latents, args, total);
}
