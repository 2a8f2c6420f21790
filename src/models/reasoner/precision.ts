/**
 * @file The one rule for the reasoner engine's compute precision. Weights are always stored as the pack says and
 * read by shaders that need no `shader-f16`; where the device has `shader-f16`, the tiled matmuls of the prefill
 * stage their workgroup tiles in f16 (accumulating in f32) for weights of f16, int8 or int4 storage, whose values
 * f16 holds without loss of range (int8 / int4 are small integers times an f32 scale, dequantised before the tile).
 * f32 weights keep f32 tiles (the reference path), and so do bf16 weights, whose exponent range exceeds f16's.
 * Decode rows (GEMV / dot kernels) always compute in f32.
 */
import type { Precision } from '../../kernels/dispatch';
import type { WeightVariant } from '../../packs/manifest';

export function reasonerComputePrecision(features: { has(f: string): boolean }, weights: WeightVariant): Precision {
  return features.has('shader-f16') && (weights === 'f16' || weights === 'int8' || weights === 'int4') ? 'f16' : 'f32';
}
