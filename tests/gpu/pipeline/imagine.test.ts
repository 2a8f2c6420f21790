/**
 * Imagine and Edit end to end on the tiny-random pack (real Chromium WebGPU): reasoner → connector → painter → VAE →
 * PNG. The images equal the PyTorch fixtures within 2/255, the PNG carries prompt, seed and settings, the same
 * request gives the same PNG bytes, and bad input is refused before any GPU work with the field and the range.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { imagine, type ImagineRequest } from '../../../src/pipeline/imagine';
import { releaseNegativeConditions } from '../../../src/pipeline/paint';
import { edit, type EditRequest } from '../../../src/pipeline/edit';
import { decodePngRgba, readPngText } from '../../../src/pipeline/png';
import { releasePainters } from '../../../src/models/painter';
import { releaseReasoners } from '../../../src/models/reasoner';
import { RgError } from '../../../src/errors';
import { cancelRun, endRun, startRun } from '../../../src/pipeline/events';
import type { RgEvent } from '../../../src/worker/api';
import { fixtureBytes, fixtureF32, fx, tinyRandom } from '../models/painter_fixtures';

/** Max |ours − PyTorch| per pixel channel, PyTorch's pixels from the raw fixture image (to_pixels). */
function maxPixelDiff(rgba: Uint8ClampedArray, img: Float32Array, W: number, H: number): number {
  const n = W * H;
  let m = 0;
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < n; i++) {
      const want = Math.floor(Math.min(1, Math.max(0, img[c * n + i]! * 0.5 + 0.5)) * 255 + 0.5);
      m = Math.max(m, Math.abs(rgba[i * 4 + c]! - want));
    }
  return m;
}

describe('Imagine and Edit pipelines', async () => {
  const device = await acquireDevice();
  const source = tinyRandom();
  const deps = { source, choice: { backend: 'webgpu' as const, device } };
  afterAll(async () => {
    await releaseNegativeConditions();
    await releasePainters();
    await releaseReasoners();
  });
  const I = fx.imagine;
  const request = (runId: string): ImagineRequest => ({
    runId,
    pack: 'tiny-random',
    prompt: I.prompt,
    cot: I.cot,
    maxNewTokens: I.max_new_tokens,
    width: I.width,
    height: I.height,
    steps: I.steps,
    guidance: I.guidance,
    seed: I.seed,
  });
  let firstPng: Uint8Array;

  it('Imagine: the image for seed 42 equals the PyTorch fixture within 2/255; PNG text; events', async () => {
    const events: RgEvent[] = [];
    const r = await imagine(request('imagine-1'), (e) => events.push(e), deps);
    firstPng = r.png;
    expect(r.conditionRows).toBe(I.condition_length_positive);
    expect(r.negativeRows).toBe(I.condition_length_negative);
    const png = decodePngRgba(r.png);
    const d = maxPixelDiff(png.rgba, await fixtureF32(I.image.file), I.width, I.height);
    console.log(`Imagine pipeline: max pixel Δ vs PyTorch = ${d}/255; timings ${JSON.stringify(r.timings)}`);
    expect(d).toBeLessThanOrEqual(2);
    const text = readPngText(r.png);
    expect(text.prompt).toBe(I.prompt);
    expect(text.seed).toBe('42');
    expect(JSON.parse(text.settings!)).toMatchObject({
      steps: 4,
      guidance: 3,
      width: 64,
      height: 64,
      cot: true,
      pack: 'tiny-random',
    });
    const kinds = events.map((e) => e.type);
    expect(kinds).toContain('token');
    expect(kinds).toContain('preview');
    expect(events.filter((e) => e.type === 'progress').length).toBe(I.steps);
    expect(kinds.at(-1)).toBe('done');
  });

  it('the same request twice gives the same PNG bytes (negative condition from the cache)', async () => {
    const r = await imagine(request('imagine-2'), undefined, deps);
    expect(r.timings.negativeMs).toBe(0);
    expect(r.png).toEqual(firstPng);
  });

  it('cancel(runId) during the steps, then the same request again: the same PNG bytes', async () => {
    const signal = startRun('imagine-cancel');
    const events: RgEvent[] = [];
    try {
      const run = imagine(
        request('imagine-cancel'),
        (e) => {
          events.push(e);
          if (e.type === 'progress' && e.done === 2) cancelRun('imagine-cancel');
        },
        { ...deps, signal },
      );
      await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    } finally {
      endRun('imagine-cancel', signal);
    }
    expect(events.at(-1)?.type).toBe('error');
    const again = await imagine(request('imagine-after-cancel'), undefined, deps);
    expect(again.png).toEqual(firstPng);
  });

  it('Edit: the image equals the PyTorch fixture within 2/255', async () => {
    const E = fx.edit;
    const req: EditRequest = {
      runId: 'edit-1',
      pack: 'tiny-random',
      instruction: E.instruction,
      image: await fixtureBytes(E.input_png),
      cot: E.cot,
      maxNewTokens: E.max_new_tokens,
      width: E.width,
      height: E.height,
      steps: E.steps,
      guidance: E.guidance,
      seed: E.seed,
      strength: E.strength,
    };
    const r = await edit(req, undefined, deps);
    expect(r.conditionRows).toBe(E.condition_length_positive);
    const d = maxPixelDiff(decodePngRgba(r.png).rgba, await fixtureF32(E.image.file), E.width, E.height);
    console.log(`Edit pipeline: max pixel Δ vs PyTorch = ${d}/255`);
    expect(d).toBeLessThanOrEqual(2);
    expect(readPngText(r.png).instruction).toBe(E.instruction);
  });

  describe('bad input is refused before any GPU work, naming the field and the range', () => {
    const cases: [string, Partial<ImagineRequest> & { strength?: number }, string, RegExp, boolean?][] = [
      ['width not a multiple of 16', { width: 50 }, 'width', /multiple of 16 from 32 to 256/],
      ['height beyond the limit', { height: 512 }, 'height', /from 32 to 256/],
      ['steps < 1', { steps: 0 }, 'steps', /whole number from 1 to 200/],
      ['absurd steps', { steps: 1e6 }, 'steps', /from 1 to 200/],
      ['fractional steps', { steps: 2.5 }, 'steps', /whole number/],
      ['NaN guidance', { guidance: NaN }, 'guidance', /from 0 to 30, got NaN/],
      ['guidance too high', { guidance: 31 }, 'guidance', /from 0 to 30/],
      ['negative seed', { seed: -1 }, 'seed', /from 0 to 4294967295/],
      ['empty prompt', { prompt: '  ' }, 'prompt', /empty/],
      ['unknown weights', { weights: 'f16' }, 'weights', /one of f32, int8, int4/],
      ['strength 0 (edit)', { strength: 0 }, 'strength', /above 0 and at most 1/, true],
      ['strength NaN (edit)', { strength: NaN }, 'strength', /above 0 and at most 1/, true],
    ];
    for (const [what, patch, field, message, isEdit] of cases) {
      it(what, async () => {
        await device.queue.onSubmittedWorkDone();
        const before = liveBufferCount(device);
        const base = request(`bad-${field}`);
        const run = isEdit
          ? edit({ ...base, instruction: 'x', image: new Uint8Array([1]), ...patch } as EditRequest, undefined, deps)
          : imagine({ ...base, ...patch } as ImagineRequest, undefined, deps);
        const err = await run.then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RgError);
        expect((err as RgError).code).toBe('BAD_INPUT');
        expect((err as RgError).field).toBe(field);
        expect((err as RgError).message).toMatch(message);
        expect(liveBufferCount(device)).toBe(before);
      });
    }
  });
});
