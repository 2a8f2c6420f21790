/** @file CPU twin of philox_blocks: src/kernels/philox.ts over each (counter, key) block. */
import { philox4x32_10 } from '../../../../src/kernels/philox';

/** `blocks` u32 [n, 6] (c0..c3, k0, k1) → u32 [n, 4] (r0..r3). */
export function philoxBlocksRef(blocks: Uint32Array): Uint32Array {
  const n = blocks.length / 6;
  const out = new Uint32Array(n * 4);
  for (let i = 0; i < n; i++)
    out.set(philox4x32_10(blocks.subarray(6 * i, 6 * i + 4), blocks.subarray(6 * i + 4, 6 * i + 6)), 4 * i);
  return out;
}
