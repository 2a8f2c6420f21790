// The studio's "Reasoner weights" choice on an Imagine / Compare run: sent in the request as `reasonerWeights` and
// kept in the history record's settings; a run without a choice sends none (the pipeline's default). A converted pack
// (no f32 file) runs the format it ships. A pack without a vision tower: Understand asks without an image.
import { describe, expect, it } from 'vitest';
import { imagineRecord, imagineRequest, type ImagineSettings } from '../../../src/ui/state/imagine.svelte';
import { AppState, FALLBACK_PACK_INFO, REASONER_WEIGHT_CHOICES } from '../../../src/ui/state/app.svelte';
import { UnderstandState } from '../../../src/ui/state/understand.svelte';

const base: ImagineSettings = {
  prompt: 'three red circles',
  cot: true,
  cascade: false,
  systemPrompt: 'S',
  userPrefix: null,
  steps: 4,
  guidance: 3,
  seed: 1,
  width: 64,
  height: 64,
  maxNewTokens: 16,
};

describe('studio reasoner weights', () => {
  it('offers the five formats', () => {
    expect(REASONER_WEIGHT_CHOICES).toEqual(['f32', 'f16', 'bf16', 'int8', 'int4']);
  });

  it('goes into the request and the history record', () => {
    const s = { ...base, reasonerWeights: 'int4' as const };
    expect(imagineRequest('r', 'tiny-random', s).reasonerWeights).toBe('int4');
    expect(imagineRequest('r', 'tiny-random', base)).not.toHaveProperty('reasonerWeights');
    const out = { settings: s, png: new Uint8Array(), reasoning: '', answer: '', tokens: 1, formatOk: true };
    const rec = imagineRecord('imagine', { ...out, timings: {}, cascade: null });
    expect(rec.settings.reasonerWeights).toBe('int4');
  });

  it('the plan shown counts the chosen reasoner weights; a value not offered is ignored', () => {
    const app = new AppState();
    app.refreshPlan = () => Promise.resolve(); // no worker here: only the choice is checked
    expect(app.reasonerWeights).toBe('f32');
    expect(app.planChoice()).toBeUndefined();
    app.setReasonerWeights('int4');
    expect(app.reasonerWeights).toBe('int4');
    expect(app.planChoice()).toEqual({ reasonerPrecision: 'int4' });
    app.setReasonerWeights('q4');
    expect(app.reasonerWeights).toBe('int4');
  });

  it('a pack without an f32 reasoner file (a converted one) runs the format it ships, whatever the choice', () => {
    const app = new AppState();
    app.refreshPlan = () => Promise.resolve();
    app.setReasonerWeights('int4');
    app.packInfo = { ...FALLBACK_PACK_INFO, reasonerFiles: ['bf16'] };
    expect(app.reasonerWeightChoices).toEqual(['bf16']);
    expect(app.reasonerWeights).toBe('bf16');
    app.setReasonerWeights('int8'); // remembered, but this pack cannot make it
    expect(app.reasonerWeights).toBe('bf16');
    app.packInfo = { ...FALLBACK_PACK_INFO, reasonerFiles: ['f32'] }; // an f32 file makes every format
    expect(app.reasonerWeightChoices).toEqual(REASONER_WEIGHT_CHOICES);
    expect(app.reasonerWeights).toBe('int8');
    app.packInfo = { ...FALLBACK_PACK_INFO, reasonerFiles: [] }; // ONNX only: the choice as before
    expect(app.reasonerWeights).toBe('int8');
  });
});

describe('a pack that reads no images', () => {
  it('Understand takes a question alone; with a vision tower an image is required', () => {
    const app = new AppState();
    app.refreshPlan = () => Promise.resolve();
    const u = new UnderstandState(app);
    u.question = 'What is two plus three?';
    expect(u.checks.image.ok).toBe(false); // tiny-random and shapes read images: one is required
    app.packInfo = { ...FALLBACK_PACK_INFO, vision: false };
    expect(u.checks.image).toEqual({ ok: true, value: null });
    expect(u.problems.image).toBeUndefined();
  });
});
