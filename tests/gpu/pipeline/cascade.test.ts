/**
 * Cascade thinking (MindOmni's `cascade_thinking`) through the real Imagine pipeline in Chromium WebGPU. The second
 * pass is a fresh chain-of-thought request whose prompt is the text the first pass settled on, so a cascade run must
 * paint EXACTLY what a plain run of that text paints (same seed: same sampling, same noise). Both passes' texts come
 * back and travel in the PNG. No tiny-random numbers are written here: every check compares two paths.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { imagine } from '../../../src/pipeline/imagine';
import { cascadeText } from '../../../src/pipeline/cascade';
import { decodePngRgba, readPngText } from '../../../src/pipeline/png';
import type { RgEvent } from '../../../src/worker/api';
import { fx, quickImagineRequest, releasePipelineModels, tinyRandom } from '../models/painter_fixtures';

describe('cascade thinking', async () => {
  const device = await acquireDevice();
  const deps = { source: tinyRandom(), choice: { backend: 'webgpu' as const, device } };
  afterAll(releasePipelineModels);
  const request = quickImagineRequest;

  it('the second pass conditions the painter: same image as a plain run of the first pass’s text', async () => {
    const t0 = performance.now();
    const plain = await imagine(request('cascade-plain'), undefined, deps);
    console.log(`cascade test: plain run (first, with loading) ${(performance.now() - t0).toFixed(0)} ms`);
    const events: RgEvent[] = [];
    await device.queue.onSubmittedWorkDone();
    const buffers = liveBufferCount(device);
    const r = await imagine(request('cascade-on', { cascade: true }), (e) => events.push(e), deps);
    await device.queue.onSubmittedWorkDone();
    // The first pass's condition was released when the second replaced it (negative condition already cached).
    expect(liveBufferCount(device)).toBe(buffers);
    // First pass = the plain run's completion, unchanged.
    expect(r.text).toBe(plain.text);
    expect(r.reasoning).toBe(plain.reasoning);
    expect(r.answer).toBe(plain.answer);
    expect(r.settings.cascade).toBe(true);
    // What was sent back is the first pass's text as cascadeText reads it.
    const sent = cascadeText(plain.text);
    expect(sent.text.length).toBeGreaterThan(0);
    expect(r.cascade).not.toBeNull();
    expect(r.cascade!.prompt).toBe(sent.text);
    expect(r.cascade!.source).toBe(sent.source);
    const second = r.cascade!.second!;
    expect(second).not.toBeNull();
    // The direct run: prompt = the extracted text, no cascade.
    const direct = await imagine(request('cascade-direct', { prompt: sent.text }), undefined, deps);
    console.log(`cascade timings: plain ${JSON.stringify(plain.timings)} cascade ${JSON.stringify(r.timings)}`);
    expect(second.text).toBe(direct.text);
    expect(r.conditionRows).toBe(direct.conditionRows);
    expect(r.conditionRows).not.toBe(plain.conditionRows);
    const a = decodePngRgba(r.png).rgba;
    expect(a).toEqual(decodePngRgba(direct.png).rgba);
    expect(a).not.toEqual(decodePngRgba(plain.png).rgba);
    // Both texts recorded in the PNG; the second pass announced itself in the stream.
    const t = readPngText(r.png);
    expect(t.prompt).toBe(fx.imagine.prompt);
    expect(t.reasoning).toBe(plain.reasoning);
    expect(t.answer).toBe(plain.answer);
    expect(t.cascade_prompt).toBe(sent.text);
    expect(t.cascade_reasoning).toBe(second.reasoning);
    expect(t.cascade_answer).toBe(second.answer);
    expect(JSON.parse(t.settings!)).toMatchObject({ cascade: true });
    expect(events.some((e) => e.type === 'phase' && e.detail === 'cascade')).toBe(true);
    expect(r.timings.cascadeMs).toBeGreaterThan(0);
    // Off: no record.
    expect(plain.cascade).toBeNull();
    expect(plain.settings.cascade).toBe(false);
  }, 400_000);

  it('cascade without chain of thought is refused before any GPU work', async () => {
    await device.queue.onSubmittedWorkDone();
    const before = liveBufferCount(device);
    const err = await imagine(request('cascade-nocot', { cascade: true, cot: false }), undefined, deps).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'BAD_INPUT', field: 'cascade' });
    expect(liveBufferCount(device)).toBe(before);
  });
});
