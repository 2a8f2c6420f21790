// The studio's "Reasoner weights" choice on an Imagine / Compare run: sent in the request as `reasonerWeights` and
// kept in the history record's settings; a run without a choice sends none (the pipeline's default).
import { describe, expect, it } from 'vitest';
import { imagineRecord, imagineRequest, type ImagineSettings } from '../../../src/ui/state/imagine.svelte';
import { AppState, REASONER_WEIGHT_CHOICES } from '../../../src/ui/state/app.svelte';

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
});
