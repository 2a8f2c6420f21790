/**
 * @file preview: latents [C, H, W] → RGBA8 (one packed u32 per latent position) through a per-pack linear map
 * rgb = clamp(A·z + b, 0, 1), for step previews. A map whose output is in [−1, 1] (the VAE's range) becomes one
 * for this kernel by halving A and b and adding 0.5 to b.
 */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/preview.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

export interface PreviewArgs {
  /** f32 latents [C, H, W] (the first latent of a batch). */
  latents: GPUBuffer;
  /** u32 [H·W]: RGBA8 pixels, r in the low byte, alpha 255. */
  out: GPUBuffer;
  channels: number;
  height: number;
  width: number;
  /** A, [3, C] row-major: row 0 makes red. */
  matrix: ArrayLike<number>;
  /** b, [3]. */
  bias: ArrayLike<number>;
}

/** Encodes the preview into `batch`. */
export function preview(batch: GpuBatch, args: PreviewArgs): void {
  const { channels: C, height, width } = args;
  needCount('preview', 'channels', C);
  needCount('preview', 'height', height);
  needCount('preview', 'width', width);
  need('preview', args.matrix.length === 3 * C, `matrix has ${args.matrix.length} numbers but 3 x ${C} are needed`);
  need('preview', args.bias.length === 3, `bias has ${args.bias.length} numbers but 3 are needed`);
  const map = new Float32Array(3 * C + 3);
  map.set(Array.from(args.matrix));
  map.set(Array.from(args.bias), 3 * C);
  need('preview', map.every(Number.isFinite), 'matrix and bias must be finite');
  const pixels = height * width;
  needBytes('preview', 'latents', args.latents, C * pixels * 4);
  needBytes('preview', 'out', args.out, pixels * 4);
  const mapBuf = batch.scratch(map.byteLength, 'preview map');
  batch.device.queue.writeBuffer(mapBuf, 0, map);
  const { groups, stride } = flatGroups(pixels, 256);
  batch.dispatch(
    batch.pipeline('preview', code),
    [args.latents, mapBuf, args.out, batch.uniform(new Uint32Array([pixels, stride, C]))],
    groups,
  );
}
