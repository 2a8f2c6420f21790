/**
 * A pack that declines (manifest `refusal.answer_prefix`) on the tiny-random pack in Chromium WebGPU: the same
 * request through a source whose manifest names the start of the reasoner's answer comes back with that answer as
 * `refusal` (and a `refusal` tEXt chunk), the same pixels and nothing leaked; no field at all (the shipped manifest)
 * gives no refusal. (A prefix the answer does not start with: tests/unit/pipeline/refusal.test.ts, the rule itself.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { imagine } from '../../../src/pipeline/imagine';
import { decodePngRgba, readPngText } from '../../../src/pipeline/png';
import type { PackSource } from '../../../src/packs/source';
import { quickImagineRequest, releasePipelineModels, tinyRandom } from '../models/painter_fixtures';

describe('a pack that declines', async () => {
  const device = await acquireDevice();
  const base = tinyRandom();
  // tiny-random with a test manifest override: every other call goes to the shipped pack's source
  const declining = (answerPrefix: string): PackSource =>
    Object.assign(Object.create(base) as PackSource, {
      manifest: async () => ({ ...(await base.manifest()), refusal: { answer_prefix: answerPrefix } }),
    });
  const run = (source: PackSource, runId: string) =>
    imagine(quickImagineRequest(runId), undefined, { source, choice: { backend: 'webgpu' as const, device } });
  afterAll(releasePipelineModels);

  it('the answer the manifest names is the refusal, the picture still painted', async () => {
    const plain = await run(base, 'refusal-plain');
    expect(plain.refusal).toBeNull();
    expect(readPngText(plain.png)).not.toHaveProperty('refusal');
    // tiny-random writes no tags: its answer is the whole completion, trimmed
    expect(plain.answer.length).toBeGreaterThan(4);

    await device.queue.onSubmittedWorkDone();
    const buffers = liveBufferCount(device);
    const declined = await run(declining(plain.answer.slice(0, 4)), 'refusal-match');
    await device.queue.onSubmittedWorkDone();
    expect(liveBufferCount(device)).toBe(buffers);
    expect(declined.text).toBe(plain.text);
    expect(declined.refusal).toBe(plain.answer);
    expect(readPngText(declined.png).refusal).toBe(plain.answer);
    expect(decodePngRgba(declined.png).rgba).toEqual(decodePngRgba(plain.png).rgba);
  });
});
