// The memory plan in Chromium (src/models/plan.ts on the real adapter's limits): with a lowered binding limit or
// budget (the plan's settings, not a device change) a download is refused before any byte of weights is fetched
// (the fault server logs every request) and nothing is written; a pack needing a feature the adapter lacks is told
// so before the download; a pipeline refuses before reading a weight file or creating a GPU buffer.
import { afterEach, describe, expect, it } from 'vitest';
import { RgError } from '../../../src/errors';
import { acquireDevice, capabilities, liveBufferCount } from '../../../src/gpu/device';
import { admitPack, allowanceWith, planSettings, setPlanSettings } from '../../../src/models/plan';
import { FetchPackSource } from '../../../src/packs/source';
import { understand } from '../../../src/pipeline/understand';
import { PACK, Session, reference, storeFor } from './fixture';

afterEach(() => setPlanSettings({}));

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<RgError> {
  return p.then(
    () => expect.fail('expected a refusal'),
    (e: unknown) => e as RgError,
  );
}

describe('memory plan before a download (Chromium WebGPU)', async () => {
  const ref = await reference();

  it('uses the adapter limits the device was created with; settings only lower them', async () => {
    const caps = await capabilities();
    expect(caps.available).toBe(true);
    const device = await acquireDevice();
    const a = allowanceWith(caps, {});
    expect(a.maxStorageBufferBindingSize).toBe(device.limits.maxStorageBufferBindingSize);
    expect(a.maxBufferSize).toBe(device.limits.maxBufferSize);
    expect(a.budgetSource).toBe('default');
    const raised = allowanceWith(caps, { maxStorageBufferBindingSize: 2 ** 52, budgetBytes: 5e9 });
    expect(raised.maxStorageBufferBindingSize).toBe(device.limits.maxStorageBufferBindingSize);
    expect(raised).toMatchObject({ budgetBytes: 5e9, budgetSource: 'user' });
    // A bad setting is refused and changes nothing.
    setPlanSettings({ budgetBytes: 123_456_789 });
    expect(() => setPlanSettings({ budgetBytes: -1 })).toThrow(expect.objectContaining({ field: 'budgetBytes' }));
    expect(planSettings().budgetBytes).toBe(123_456_789);
    // The shipped pack fits the real adapter.
    setPlanSettings({});
    expect((await admitPack(ref.manifest))!.fits).toBe(true);
  });

  it('refuses a pack over a lowered binding limit before any weight byte is fetched; nothing is written', async () => {
    setPlanSettings({ maxStorageBufferBindingSize: 64 * 1024 });
    const s = new Session();
    const store = storeFor(s, { admit: (m) => admitPack(m) });
    const err = await rejection(store.download(PACK));
    expect(err).toBeInstanceOf(RgError);
    expect(err.code).toBe('MEMORY_PLAN');
    expect(err.message).toMatch(
      /buffer needs [\d,]+ bytes, more than one buffer binding of this adapter holds \(65,536/,
    );
    expect(err.message).toContain('this device allows');
    expect(err.hint).toMatch(/^Try .*a smaller pack\.$/);
    expect((await s.log()).map((e) => e.path)).toEqual(['manifest.json']);
    expect(await store.weights.fileRecords(PACK)).toEqual([]);
    expect(await store.current(PACK)).toBeUndefined();
  });

  it('refuses over a lowered budget, and a feature the adapter lacks, before the download', async () => {
    setPlanSettings({ budgetBytes: 1_000_000 });
    const s = new Session();
    const store = storeFor(s, { admit: (m) => admitPack(m) });
    const err = await rejection(store.download(PACK));
    expect(err).toMatchObject({ code: 'MEMORY_PLAN', field: 'budget' });
    expect(err.message).toMatch(/more than the 1\.00 MB budget/);
    setPlanSettings({});
    const needs = {
      ...ref.manifest,
      requirements: { ...ref.manifest.requirements, gpu_features: ['no-such-feature'] },
    };
    const e2 = await rejection(admitPack(needs));
    expect(e2).toMatchObject({ code: 'UNSUPPORTED_PACK', field: 'requirements.gpu_features' });
    expect(e2.message).toContain('no-such-feature');
    expect((await s.log()).map((e) => e.path)).toEqual(['manifest.json']);
  });

  it('a pipeline refuses at load, before reading a weight file or creating a GPU buffer', async () => {
    const device = await acquireDevice();
    const before = liveBufferCount(device);
    setPlanSettings({ budgetBytes: 1_000_000 });
    const s = new Session();
    const source = new FetchPackSource(PACK, s.packBase());
    const err = await rejection(
      understand({ runId: 'plan', pack: PACK, prompt: 'Hi', cot: false, maxNewTokens: 4 }, undefined, {
        source,
        choice: { backend: 'webgpu', device },
      }),
    );
    expect(err).toMatchObject({ code: 'MEMORY_PLAN', field: 'budget' });
    const fetched = (await s.log()).map((e) => e.path);
    expect(fetched).toContain('manifest.json');
    expect(fetched.filter((p) => p.endsWith('.safetensors') || p.endsWith('.onnx'))).toEqual([]);
    expect(liveBufferCount(device)).toBe(before);
  });
});
