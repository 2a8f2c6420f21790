/**
 * A pack without a vision tower (manifest `reasoner.vision: null`, no vision paths), as packs converted from MindOmni
 * or Qwen2 checkpoints will be until Qwen2.5-VL's tower is converted: tiny-random with its manifest so changed (and
 * another id, so nothing cached for tiny-random is reused). Imagine and text-only Understand run and give what
 * tiny-random gives; an image (Understand with one, Edit) is refused with BAD_INPUT on `image` before any GPU work.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { RgError } from '../../../src/errors';
import { imagine } from '../../../src/pipeline/imagine';
import { edit } from '../../../src/pipeline/edit';
import { understand } from '../../../src/pipeline/understand';
import type { PackSource } from '../../../src/packs/source';
import { decodePngRgba } from '../../../src/pipeline/png';
import { fixtureBytes, fx, quickImagineRequest, releasePipelineModels, tinyRandom } from '../models/painter_fixtures';

describe('a pack without a vision tower', async () => {
  const device = await acquireDevice();
  const base = tinyRandom();
  const blind: PackSource = Object.assign(Object.create(base) as PackSource, {
    id: 'tiny-blind',
    manifest: async () => {
      const m = await base.manifest();
      const { vision_encoder: _v, preprocessor_config: _p, processor_config: _q, ...paths } = m.paths;
      return { ...m, id: 'tiny-blind', paths, reasoner: { ...m.reasoner, vision: null } };
    },
  });
  const choice = { backend: 'webgpu' as const, device };
  const paint = (pack: string) => quickImagineRequest(`nv-${pack}`, { pack });
  const ask = (pack: string) => ({
    runId: `nvu-${pack}`,
    pack,
    prompt: 'What is two plus three?',
    cot: false,
    maxNewTokens: 8,
  });
  afterAll(releasePipelineModels);

  it('Imagine and a text-only Understand run and give what tiny-random gives', async () => {
    const seen = await imagine(paint('tiny-random'), undefined, { source: base, choice });
    const got = await imagine(paint('tiny-blind'), undefined, { source: blind, choice });
    expect(got.text).toBe(seen.text);
    expect(decodePngRgba(got.png).rgba).toEqual(decodePngRgba(seen.png).rgba); // the PNG's text names the pack
    const a = await understand(ask('tiny-random'), undefined, { source: base, choice });
    const b = await understand(ask('tiny-blind'), undefined, { source: blind, choice });
    expect(b.text).toBe(a.text);
  });

  it('an image is refused on `image`, saying why, before any GPU work', async () => {
    await device.queue.onSubmittedWorkDone();
    const before = liveBufferCount(device);
    const png = await fixtureBytes(fx.edit.input_png);
    const refusals = [
      understand({ ...ask('tiny-blind'), image: png }, undefined, { source: blind, choice }),
      edit({ ...paint('tiny-blind'), instruction: 'make it blue', image: png, strength: 0.5 }, undefined, {
        source: blind,
        choice,
      }),
    ];
    for (const r of refusals) {
      const e = await r.then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(RgError);
      expect((e as RgError).code).toBe('BAD_INPUT');
      expect((e as RgError).field).toBe('image');
      expect((e as RgError).message).toBe('The pack tiny-blind has no vision tower, so it cannot read images.');
      expect((e as RgError).hint).toContain('vision tower is not converted yet');
    }
    await device.queue.onSubmittedWorkDone();
    expect(liveBufferCount(device)).toBe(before);
  });
});
