/** @file Helpers for kernel tests in real Chromium WebGPU: the shared device, uploads, readbacks, comparisons. */
import { expect } from 'vitest';
import { acquireDevice } from '../../src/gpu/device';
import { GpuBatch } from '../../src/gpu/batch';
import { emptyBuffer, readF32, readU32, uploadBuffer } from '../../src/gpu/readback';

export { acquireDevice, GpuBatch, emptyBuffer, readF32, readU32, uploadBuffer };

/** Buffers made by a test, destroyed together at the end. */
export class Buffers {
  private list: GPUBuffer[] = [];
  constructor(readonly device: GPUDevice) {}
  upload(data: ArrayBufferView, label = 'test-in'): GPUBuffer {
    const b = uploadBuffer(this.device, data, label);
    this.list.push(b);
    return b;
  }
  empty(bytes: number, label = 'test-out'): GPUBuffer {
    const b = emptyBuffer(this.device, bytes, label);
    this.list.push(b);
    return b;
  }
  destroy(): void {
    for (const b of this.list) b.destroy();
    this.list = [];
  }
}

/** Runs `encode` in one batch and submits it. */
export function runBatch(device: GPUDevice, encode: (b: GpuBatch) => void): void {
  const batch = new GpuBatch(device, 'test');
  encode(batch);
  batch.submit();
}

/**
 * Asserts |a − e| ≤ atol + rtol·|e| elementwise, reporting the worst index. Defaults: 1e-4 relative with a small
 * absolute floor for values near zero.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4, atol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (beyond tolerance by ${worstExcess})`,
    );
  }
}
