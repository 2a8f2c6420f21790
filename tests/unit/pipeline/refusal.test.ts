/**
 * A pack's refusal (manifest `refusal.answer_prefix`, src/pipeline/refusal.ts): the schema of the field, the rule
 * that decides it from the pack (no string matching anywhere else), and where a declined result goes: history's
 * record (and back, for Compare's restore), the command line's result.json and stdout line. The pipeline end to end
 * on tiny-random: tests/gpu/pipeline/refusal.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManifestSchema } from '../../../src/packs/manifest';
import { refusalOf } from '../../../src/pipeline/refusal';
import { imagineRecord, refusalFromSettings, type ImagineSettings } from '../../../src/ui/state/imagine.svelte';
import { paintLine, paintRecord } from '../../../src/cli/requests.mjs';

const OOW = 'I can only draw 0 to 9 circles, squares or triangles in red, orange, yellow, green, blue or purple';
const tiny = JSON.parse(
  readFileSync(new URL('../../../public/models/tiny-random/manifest.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

describe('manifest refusal', () => {
  it('optional {answer_prefix}: a non-empty text and nothing else', () => {
    expect(ManifestSchema.safeParse(tiny).success).toBe(true);
    const ok = ManifestSchema.safeParse({ ...tiny, refusal: { answer_prefix: 'I can only draw' } });
    expect(ok.success && ok.data.refusal).toEqual({ answer_prefix: 'I can only draw' });
    for (const bad of [{ answer_prefix: '' }, { answer_prefix: 'x', exact: true }, {}, 'I can only draw']) {
      const r = ManifestSchema.safeParse({ ...tiny, refusal: bad });
      expect(r.success, JSON.stringify(bad)).toBe(false);
      expect(r.error?.issues[0]?.path[0]).toBe('refusal');
    }
  });

  it('the answer is a refusal when the pack names its start; a pack without the field never declines', () => {
    const pack = { refusal: { answer_prefix: 'I can only draw' } };
    expect(refusalOf(pack, OOW)).toBe(OOW);
    expect(refusalOf(pack, '5 red circles')).toBeNull();
    expect(refusalOf(pack, 'Maybe I can only draw')).toBeNull();
    expect(refusalOf({}, OOW)).toBeNull();
  });
});

describe('a declined result', () => {
  const settings: ImagineSettings = {
    prompt: 'a cat',
    cot: true,
    cascade: false,
    systemPrompt: 's',
    userPrefix: null,
    steps: 4,
    guidance: 3,
    seed: 1,
    width: 64,
    height: 64,
    maxNewTokens: 48,
  };
  const out = { settings, png: new Uint8Array([1]), reasoning: 'no', answer: OOW, tokens: 40, formatOk: true };

  it('history keeps the refusal (and the PNG), and gives it back; a painted result has none', () => {
    const declined = imagineRecord('imagine', { ...out, timings: {}, cascade: null, refusal: OOW });
    expect(declined.settings.refusal).toBe(OOW);
    expect(declined.image).toEqual(new Uint8Array([1]));
    expect(refusalFromSettings(declined.settings)).toBe(OOW);
    const painted = imagineRecord('imagine', { ...out, answer: '1 red circle', timings: {}, cascade: null });
    expect(painted.settings).not.toHaveProperty('refusal');
    expect(refusalFromSettings(painted.settings)).toBeNull();
  });

  it('rg generate: result.json and the stdout line say so; other lines are as before', () => {
    const r = {
      settings: { seed: 1 },
      timings: { totalMs: 12.3 },
      answer: OOW,
      formatOk: true,
      refusal: OOW,
    } as unknown as Parameters<typeof paintLine>[1];
    const s = { pack: { id: 'shapes', manifestSha256: 'x' }, device: {} } as unknown as Parameters<
      typeof paintRecord
    >[2];
    expect(paintRecord({ mode: 'imagine' }, r, s)).toMatchObject({ refusal: OOW, image: 'image.png' });
    expect(JSON.parse(paintLine('o', r).stdout)).toMatchObject({ refusal: OOW, image: 'o/image.png' });
    const painted = { ...r, refusal: null, answer: '1 red circle' };
    expect(paintRecord({ mode: 'imagine' }, painted, s)).toMatchObject({ refusal: null });
    expect(JSON.parse(paintLine('o', painted).stdout)).toEqual({
      out: 'o',
      image: 'o/image.png',
      answer: '1 red circle',
      formatMatched: true,
      seed: 1,
      totalMs: 12,
    });
  });
});
