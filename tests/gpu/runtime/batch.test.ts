// GpuBatch's uniforms: slices of a few mapped arenas. Six hundred dispatches in one batch, each with its own uniform,
// read their own values (the sum below counts exactly which ones ran over which elements); the batch creates a
// handful of buffers for them, not one each; a uniform after submit is refused.
import { afterAll, expect, it } from 'vitest';
import { acquireDevice, Buffers, GpuBatch, readF32 } from '../../helpers/gpu';
import { add } from '../../../src/kernels/add';

const device = await acquireDevice();
const bufs = new Buffers(device);
afterAll(() => bufs.destroy());

it('600 uniforms in one batch: each dispatch reads its own; a few arena buffers, not 600', async () => {
  const D = 600;
  const x = bufs.upload(new Float32Array(D + 8));
  const ones = bufs.upload(new Float32Array(D + 8).fill(1));
  const batch = new GpuBatch(device, 'arena test');
  const create = device.createBuffer.bind(device);
  let created = 0;
  device.createBuffer = (d: GPUBufferDescriptor) => {
    created++;
    return create(d);
  };
  try {
    // Dispatch i adds 1 to x[0 .. i): element j ends at the number of i in 1..D above j, D - j.
    for (let i = 1; i <= D; i++) add(batch, { a: x, b: ones, out: x, n: i });
  } finally {
    device.createBuffer = create;
  }
  batch.submit();
  const got = Array.from(await readF32(device, x, D + 8));
  expect(got).toEqual(Array.from({ length: D + 8 }, (_, j) => Math.max(0, D - j)));
  // 600 uniforms × 256 bytes (SwiftShader's offset alignment) = 150 KiB: arenas of 4, 8, 16, 32 and 64 KiB × 2.
  expect(created).toBeGreaterThan(0);
  expect(created).toBeLessThanOrEqual(8);
});

it('a uniform after submit is refused', () => {
  const batch = new GpuBatch(device, 'after submit');
  batch.uniform(new Uint32Array([1]));
  batch.submit();
  expect(() => batch.uniform(new Uint32Array([1]))).toThrow(/after submit/);
});
