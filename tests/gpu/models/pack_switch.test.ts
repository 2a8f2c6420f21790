// Selecting another pack releases the engines of the pack no longer selected (src/models/cache.ts retainPrefix):
// after loading tiny-random's reasoner and painter, then shapes', the live GPU buffers are exactly those of shapes'
// models alone (the counter of src/gpu/device.ts counts ours and onnxruntime-web's alike).
import { afterAll, describe, expect, it, vi } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { FetchPackSource } from '../../../src/packs/source';
import { getReasoner, releaseReasoners } from '../../../src/models/reasoner';
import { getPainter, releasePainters } from '../../../src/models/painter';
import type { BackendChoice } from '../../../src/runtime/backend';

const pack = (id: string) => new FetchPackSource(id, new URL(`/models/${id}/`, location.href).href);

async function releaseAll(): Promise<void> {
  await releaseReasoners();
  await releasePainters();
}

afterAll(releaseAll);

describe('pack switch', () => {
  it("releases the other pack's reasoner and painter when another pack is selected", async () => {
    const device = await acquireDevice();
    const choice: BackendChoice = { backend: 'webgpu', device };
    const load = async (id: string) => {
      await getReasoner(pack(id), choice);
      await getPainter(pack(id), choice);
    };
    await releaseAll();
    const before = liveBufferCount(device);
    await load('shapes');
    const shapesAlone = liveBufferCount(device) - before;
    await releaseAll();
    expect(liveBufferCount(device)).toBe(before);

    await load('tiny-random');
    const tinyAlone = liveBufferCount(device) - before;
    expect(tinyAlone).toBeGreaterThan(0);
    await load('shapes');
    // Disposal is asynchronous (a model waits for its queued runs): wait until the count settles.
    await vi.waitFor(() => expect(liveBufferCount(device) - before).toBe(shapesAlone), { timeout: 10_000 });
    // Same pack again: nothing is released or reloaded.
    await load('shapes');
    expect(liveBufferCount(device) - before).toBe(shapesAlone);
  });
});
