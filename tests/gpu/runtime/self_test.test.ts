import { describe, expect, it } from 'vitest';
import { acquireDevice, capabilities, liveBufferCount } from '../../../src/gpu/device';
import { runSelfTest } from '../../../src/runtime/self_test';

describe('one device shared by our kernels and onnxruntime-web', () => {
  it('reports the software adapter', async () => {
    const caps = await capabilities();
    expect(caps.available).toBe(true);
    expect(caps.architecture).toBe('swiftshader');
    expect(caps.features).not.toContain('shader-f16');
  });

  it('feeds a buffer written by our fill pass to an ORT session on the same device', async () => {
    const device = await acquireDevice();
    const res = await runSelfTest({ backend: 'webgpu', device }, 1000);
    expect(res.ok).toBe(true);
    expect(res.output.slice(0, 4)).toEqual([-1, 0, 1, 2]);
    expect(res.output[999]).toBe(2 * (0.5 * 999 - 1) + 1);
  });

  it('does not leak buffers across repeated self-tests', async () => {
    const device = await acquireDevice();
    await runSelfTest({ backend: 'webgpu', device });
    const after1 = liveBufferCount(device);
    for (let i = 0; i < 5; i++) await runSelfTest({ backend: 'webgpu', device });
    expect(liveBufferCount(device)).toBe(after1);
  });
});
