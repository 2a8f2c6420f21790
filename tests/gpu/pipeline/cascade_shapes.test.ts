/**
 * Cascade thinking on the shapes pack (heavy: the trained pack's three Imagine runs; `npm run test:heavy`, not
 * `npm test`, where tests/gpu/pipeline/cascade.test.ts covers the same pipeline on tiny-random and
 * tests/unit/pipeline/cascade_text.test.ts the choice of text): a first pass cut right after `</think>` sends its
 * thinking to the second pass, which paints exactly what a plain run of that thinking paints.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice } from '../../../src/gpu/device';
import { imagine, type ImagineRequest } from '../../../src/pipeline/imagine';
import { releaseNegativeConditions } from '../../../src/pipeline/paint';
import { decodePngRgba } from '../../../src/pipeline/png';
import { releasePainters } from '../../../src/models/painter';
import { loadReasonerText, releaseReasoners } from '../../../src/models/reasoner';
import { FetchPackSource } from '../../../src/packs/source';

describe('cascade thinking on the shapes pack', async () => {
  const device = await acquireDevice();
  afterAll(async () => {
    await releaseNegativeConditions();
    await releasePainters();
    await releaseReasoners();
  });

  it('shapes: a first pass cut right after </think> sends its thinking to the second pass', async () => {
    const shapes = new FetchPackSource('shapes', new URL('/models/shapes/', location.href).href);
    const sdeps = { source: shapes, choice: { backend: 'webgpu' as const, device } };
    const base: ImagineRequest = {
      runId: '',
      pack: 'shapes',
      prompt: 'draw as many red circles as 2 plus 3',
      cot: true,
      steps: 1,
      seed: 42,
    };
    const full = await imagine({ ...base, runId: 'shapes-full' }, undefined, sdeps);
    expect(full.text).toContain('</think>');
    // The budget that stops the first pass right after its </think> token.
    const tok = (await loadReasonerText(shapes)).tokenizer;
    const upTo = full.text.slice(0, full.text.indexOf('</think>') + '</think>'.length);
    const budget = tok.encode(upTo).length;
    const r = await imagine({ ...base, runId: 'shapes-cut', maxNewTokens: budget, cascade: true }, undefined, sdeps);
    expect(r.text).toBe(upTo);
    expect(r.text).not.toContain('<answer>');
    expect(r.cascade!.source).toBe('think');
    expect(r.cascade!.prompt).toBe(full.reasoning);
    const direct = await imagine(
      { ...base, runId: 'shapes-direct', maxNewTokens: budget, prompt: full.reasoning },
      undefined,
      sdeps,
    );
    expect(r.cascade!.second!.text).toBe(direct.text);
    expect(decodePngRgba(r.png).rgba).toEqual(decodePngRgba(direct.png).rgba);
  }, 400_000);
});
