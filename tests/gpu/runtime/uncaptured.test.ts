import { expect, it } from 'vitest';
import { acquireDevice, onUncapturedError } from '../../../src/gpu/device';
import { drainUncapturedErrors } from '../../helpers/gpu_setup';

it('reports a shader that does not compile to every listener, and not when captured by a scope', async () => {
  const device = await acquireDevice();
  const seen: string[] = [];
  const off = onUncapturedError((m) => seen.push(m));
  try {
    device.pushErrorScope('validation');
    device.createShaderModule({ code: 'fn main( {' });
    expect((await device.popErrorScope())?.message).toBeTruthy();
    expect(seen).toEqual([]);

    const module = device.createShaderModule({ label: 'broken-on-purpose', code: 'fn main( {' });
    device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    await device.queue.onSubmittedWorkDone();
    // Two errors arrive (the module, then the pipeline that uses it); wait for both before draining them.
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
    expect(seen[0]).toContain('broken-on-purpose');
    expect(drainUncapturedErrors()).toEqual(seen);
  } finally {
    off();
  }
});
