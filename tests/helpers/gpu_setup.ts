/**
 * @file Setup for every browser test: an uncaptured WebGPU error (a shader that fails to compile, an invalid
 * binding) fails the test that caused it, instead of leaving a buffer of zeros behind.
 *
 * The list lives on globalThis because the setup file and a test that imports this module may get two module
 * instances; the listener is registered once.
 */
import { afterEach, expect } from 'vitest';
import { onUncapturedError } from '../../src/gpu/device';

const g = globalThis as { __rgGpuErrors?: string[] };
if (!g.__rgGpuErrors) {
  const list: string[] = (g.__rgGpuErrors = []);
  onUncapturedError((m) => list.push(m));
}
const errors = g.__rgGpuErrors;

/** Takes the errors seen so far (for a test that provokes one on purpose). */
export function drainUncapturedErrors(): string[] {
  return errors.splice(0);
}

afterEach(async () => {
  // Errors surface asynchronously; let the event loop drain first.
  await new Promise((r) => setTimeout(r, 0));
  expect(errors.splice(0), 'uncaptured WebGPU errors').toEqual([]);
});
