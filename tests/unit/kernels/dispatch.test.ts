import { describe, expect, it } from 'vitest';
import { flatGroups, precisionFor, rowWorkgroupSize } from '../../../src/kernels/dispatch';

describe('dispatch helpers', () => {
  it('size row workgroups to about four elements per invocation, 32..256, powers of two', () => {
    expect([1, 64, 128, 129, 300, 1000, 1024, 5000].map(rowWorkgroupSize)).toEqual([
      32, 32, 32, 64, 128, 256, 256, 256,
    ]);
  });

  it('fold flat launches beyond 65535 workgroups into y', () => {
    expect(flatGroups(256 * 10, 256)).toEqual({ groups: [10, 1], stride: 2560 });
    const big = flatGroups(70_000, 1);
    expect(big.groups[0]! * big.groups[1]!).toBeGreaterThanOrEqual(70_000);
    expect(big.groups[0]).toBeLessThanOrEqual(65535);
  });

  it('choose f16 only where the device has shader-f16', () => {
    expect(precisionFor({ features: new Set(['shader-f16']) as unknown as GPUSupportedFeatures })).toBe('f16');
    expect(precisionFor({ features: new Set() as unknown as GPUSupportedFeatures })).toBe('f32');
    expect(precisionFor({ features: new Set(['shader-f16']) as unknown as GPUSupportedFeatures }, false)).toBe('f32');
  });
});
