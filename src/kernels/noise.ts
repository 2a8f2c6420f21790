/**
 * @file noise: seeded standard-normal latents on the GPU (docs/formats.md "Seeded noise"): Philox4x32-10 integers
 * bit-identical to the CPU (src/kernels/philox.ts) and to tools/rgvlm/noise.py, Box-Muller in f32 with our own
 * log/sin/cos polynomials. Mirrors `latent_noise` / `seeded_normal` (and `philox_words` with `words: true`).
 */
import type { GpuBatch } from '../gpu/batch';
import philox from '../../shaders/philox.wgsl?raw';
import trig from '../../shaders/trig.wgsl?raw';
import body from '../../shaders/noise.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

const code = `${philox}\n${trig}\n${body}`;

export interface NoiseArgs {
  /** Output: f32 normals (or u32 words), `batch · count` elements from element `outOffset`. */
  out: GPUBuffer;
  /** Elements per latent (C·H·W). */
  count: number;
  /** u32 seed; latent b of the batch uses seed + b (mod 2³²). */
  seed: number;
  /** Latents, one after the other. Default 1. */
  batch?: number;
  /** First element of `out` written. Default 0. */
  outOffset?: number;
  /** Write the raw Philox word r_(i mod 4) of each element instead of the normal (for bit-exact checks). */
  words?: boolean;
}

/** Encodes the seeded noise into `batch`. */
export function noise(batch: GpuBatch, args: NoiseArgs): void {
  const nb = args.batch ?? 1;
  const offset = args.outOffset ?? 0;
  needCount('noise', 'count', args.count);
  needCount('noise', 'batch', nb);
  needCount('noise', 'outOffset', offset, true);
  need(
    'noise',
    Number.isInteger(args.seed) && args.seed >= 0 && args.seed <= 0xffffffff,
    `seed must be a u32, got ${args.seed}`,
  );
  const blocks = Math.ceil(args.count / 4);
  need(
    'noise',
    offset + nb * args.count <= 0xffffffff && blocks * nb <= 0xffffffff,
    `batch ${nb} x count ${args.count} exceeds 2^32 elements`,
  );
  needBytes('noise', 'out', args.out, (offset + nb * args.count) * 4);
  const { groups, stride } = flatGroups(blocks * nb, 256);
  const u = new Uint32Array([args.count, blocks, blocks * nb, stride, args.seed, offset]);
  const words = args.words ?? false;
  const pipeline = batch.pipeline(words ? 'noise:words' : 'noise', code, { OUTPUT_WORDS: words ? 1 : 0 });
  batch.dispatch(pipeline, [args.out, batch.uniform(u)], groups);
}
