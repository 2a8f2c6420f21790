// The studio's "Painter weights" choice: only files the selected pack ships are offered and sent (as the request's
// `weights`), f32 when the remembered choice is one the pack lacks; kept in history; the plan shown counts it for the
// selected pack only.
import { describe, expect, it } from 'vitest';
import { imagineRecord, imagineRequest, type ImagineSettings } from '../../../src/ui/state/imagine.svelte';
import { AppState, FALLBACK_PACK_INFO } from '../../../src/ui/state/app.svelte';

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

function app(painterWeights: ImagineSettings['painterWeights'][]): AppState {
  const a = new AppState();
  a.refreshPlan = () => Promise.resolve(); // no worker here: only the choice is checked
  a.packInfo = { ...FALLBACK_PACK_INFO, painterWeights: painterWeights as never };
  return a;
}

describe('studio painter weights', () => {
  it('goes into the request as weights and into the history record', () => {
    const s = { ...base, painterWeights: 'int4' as const };
    expect(imagineRequest('r', 'shapes', s).weights).toBe('int4');
    expect(imagineRequest('r', 'shapes', base)).not.toHaveProperty('weights');
    const out = { settings: s, png: new Uint8Array(), reasoning: '', answer: '', tokens: 1, formatOk: true };
    expect(imagineRecord('imagine', { ...out, timings: {}, cascade: null }).settings.painterWeights).toBe('int4');
  });

  it('offers only what the pack ships; a choice the pack lacks runs f32 until a pack has it again', () => {
    const a = app(['f32', 'int8', 'int4']);
    expect(a.painterWeights).toBe('f32');
    a.setPainterWeights('f16'); // not shipped: ignored
    expect(a.painterWeights).toBe('f32');
    a.setPainterWeights('int4');
    expect(a.painterWeights).toBe('int4');
    a.packInfo = { ...a.packInfo, painterWeights: ['f32'] };
    expect(a.painterWeights).toBe('f32');
    a.packInfo = { ...a.packInfo, painterWeights: ['int8'] }; // no f32 file: the pack's first
    expect(a.painterWeights).toBe('int8');
    a.packInfo = { ...a.packInfo, painterWeights: ['f32', 'int4'] };
    expect(a.painterWeights).toBe('int4');
  });

  it('the plan counts the painter choice for the selected pack, not for other packs', () => {
    const a = app(['f32', 'int4']);
    expect(a.planChoice()).toBeUndefined();
    a.setPainterWeights('int4');
    a.setReasonerWeights('int8');
    expect(a.planChoice()).toEqual({ reasonerPrecision: 'int8', painterPrecision: 'int4' });
    expect(a.planChoice(a.packId)).toEqual({ reasonerPrecision: 'int8', painterPrecision: 'int4' });
    expect(a.planChoice('some-other-pack')).toEqual({ reasonerPrecision: 'int8' });
  });
});
