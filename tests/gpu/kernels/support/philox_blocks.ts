/**
 * @file philox_blocks: Philox4x32-10 on arbitrary (counter, key) pairs on the GPU. A check of the shared WGSL Philox
 * (shaders/philox.wgsl, which noise and sample use) against src/kernels/philox.ts; test support only.
 */
import type { GpuBatch } from '../../../../src/gpu/batch';
import philox from '../../../../shaders/philox.wgsl?raw';
import body from './philox_blocks.wgsl?raw';
import { flatGroups, needBytes, needCount } from '../../../../src/kernels/dispatch';

const code = `${philox}\n${body}`;

export interface PhiloxBlocksArgs {
  /** u32 [n, 6]: c0, c1, c2, c3, k0, k1 per block. */
  blocks: GPUBuffer;
  /** u32 [n, 4]: r0..r3 per block. */
  out: GPUBuffer;
  n: number;
}

/** Encodes Philox4x32-10 over `n` blocks into `batch`. */
export function philoxBlocks(batch: GpuBatch, args: PhiloxBlocksArgs): void {
  needCount('philox_blocks', 'n', args.n);
  needBytes('philox_blocks', 'blocks', args.blocks, args.n * 24);
  needBytes('philox_blocks', 'out', args.out, args.n * 16);
  const { groups, stride } = flatGroups(args.n, 256);
  batch.dispatch(
    batch.pipeline('philox_blocks', code),
    [args.blocks, args.out, batch.uniform(new Uint32Array([args.n, stride]))],
    groups,
  );
}
