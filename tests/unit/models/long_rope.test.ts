// LongRoPE's choice per sequence and its cos/sin scale (src/models/layers/long_rope.ts), against Phi-3's numbers.
import { describe, expect, it } from 'vitest';
import { longRope, longRopeScale } from '../../../src/models/layers/long_rope';

const cfg = (extra: object = {}) => ({
  head_dim: 8,
  rope_scaling: { type: 'longrope' as const, short_factor: [1, 1.5, 2, 3], long_factor: [4, 8, 16, 32] },
  original_max_position_embeddings: 4096,
  max_position_embeddings: 131072,
  ...extra,
});

describe('longRope', () => {
  it('scales cos/sin as Phi-3-128k: √(1 + ln 32 / ln 4096), and 1 when max ≤ original', () => {
    expect(longRopeScale(131072, 4096)).toBeCloseTo(Math.sqrt(1 + 5 / 12), 15);
    expect(longRopeScale(4096, 4096)).toBe(1);
    expect(longRopeScale(2048, 4096)).toBe(1);
  });

  it('picks long_factor once a sequence passes original_max_position_embeddings, per sequence', () => {
    const r = longRope(cfg(), [4096, 4097])!;
    expect(Array.from(r.factors[0]!)).toEqual([1, 1.5, 2, 3]);
    expect(Array.from(r.factors[1]!)).toEqual([4, 8, 16, 32]);
    expect(r.scale).toBeCloseTo(1.19023807, 8);
  });

  it('is undefined without rope_scaling (plain RoPE) and refuses factor lists of the wrong length', () => {
    expect(longRope(cfg({ rope_scaling: null }), [10])).toBeUndefined();
    expect(longRope(cfg({ rope_scaling: undefined }), [10])).toBeUndefined();
    const bad = cfg({ rope_scaling: { type: 'su', short_factor: [1, 1, 1], long_factor: [1, 1, 1, 1] } });
    expect(() => longRope(bad, [10])).toThrow('rope_scaling.short_factor: 4 positive numbers are needed');
  });
});
