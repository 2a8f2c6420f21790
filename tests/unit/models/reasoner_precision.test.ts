// The reasoner engine's compute precision rule: f16 tiles only with shader-f16 and f16 / int8 / int4 weights.
import { describe, expect, it } from 'vitest';
import { reasonerComputePrecision } from '../../../src/models/reasoner/precision';
import type { WeightVariant } from '../../../src/packs/manifest';

describe('reasonerComputePrecision', () => {
  const all: WeightVariant[] = ['f32', 'f16', 'bf16', 'int8', 'int4'];
  it('is f32 for every weight format on a device without shader-f16 (software WebGPU)', () => {
    for (const features of [new Set<string>(), new Set(['subgroups', 'timestamp-query'])])
      expect(all.map((w) => reasonerComputePrecision(features, w))).toEqual(['f32', 'f32', 'f32', 'f32', 'f32']);
  });
  it('is f16 with shader-f16 for f16, int8 and int4 weights; f32 and bf16 weights keep f32', () => {
    const f16 = new Set(['shader-f16']);
    expect(all.map((w) => reasonerComputePrecision(f16, w))).toEqual(['f32', 'f16', 'f32', 'f16', 'f16']);
  });
});
