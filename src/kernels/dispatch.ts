/**
 * @file Small helpers shared by the kernel wrappers: workgroup counts for flat launches and argument checks that
 * throw KernelArgError (naming the kernel, the argument and the sizes) before anything is dispatched.
 */
import { KernelArgError } from '../errors';

/** The largest workgroup count per dimension WebGPU guarantees. */
export const MAX_GROUPS = 65535;

/** Workgroups for `n` invocations of `size` each, folded into two dimensions when x would exceed the limit. */
export function flatGroups(n: number, size: number): { groups: [number, number]; stride: number } {
  const total = Math.ceil(n / size);
  if (total <= MAX_GROUPS) return { groups: [Math.max(total, 1), 1], stride: total * size };
  const y = Math.ceil(total / MAX_GROUPS);
  const x = Math.ceil(total / y);
  return { groups: [x, y], stride: x * size };
}

/** Throws unless `buffer` holds at least `bytes` bytes. */
export function needBytes(kernel: string, arg: string, buffer: GPUBuffer, bytes: number): void {
  if (buffer.size < bytes)
    throw new KernelArgError(kernel, `${arg} holds ${buffer.size} bytes but ${bytes} are needed`);
}

/** Throws unless `value` is a positive integer (or zero when `allowZero`). */
export function needCount(kernel: string, arg: string, value: number, allowZero = false): void {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new KernelArgError(
      kernel,
      `${arg} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`,
    );
  }
}

/** Throws with `message` unless `ok`. */
export function need(kernel: string, ok: boolean, message: string): void {
  if (!ok) throw new KernelArgError(kernel, message);
}

export type Precision = 'f16' | 'f32';

/**
 * The arithmetic precision a kernel should use on `device`: f16 where the device has `shader-f16` (and the caller
 * allows it), f32 otherwise. Kernels that have an f16 variant key their pipelines by this value.
 */
export function precisionFor(device: Pick<GPUDevice, 'features'>, allowF16 = true): Precision {
  return allowF16 && device.features.has('shader-f16') ? 'f16' : 'f32';
}

/**
 * Invocations per workgroup for a one-workgroup-per-row kernel (norms, softmax): about four elements per
 * invocation, a power of two from 32 to 256. A 64-wide row then runs 32 invocations rather than 256, which on
 * software WebGPU made rmsnorm about 18x faster on the painter's rows.
 */
export function rowWorkgroupSize(dim: number): number {
  const want = Math.ceil(dim / 4);
  let wg = 32;
  while (wg < want && wg < 256) wg *= 2;
  return wg;
}
