import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  MAX_SEED,
  parseDecimal,
  parseInteger,
  randomSeed,
  validateGuidance,
  validateMaxNewTokens,
  validateImageFile,
  validatePrompt,
  validateSeed,
  validateSeedList,
  validateSize,
  validateSteps,
  validateStrength,
  type Limits,
} from '../../../src/ui/validate';

const PACK: Limits = { ...DEFAULT_LIMITS, minSize: 32, maxSize: 256, sizeMultiple: 16, maxSteps: 200 };
const err = (c: { ok: boolean; error?: string }) => (c.ok ? null : c.error);

describe('numbers are parsed strictly', () => {
  it.each([
    ['42', 42],
    [' 7 ', 7],
    ['+3', 3],
    ['-1', -1],
    ['1.5', NaN],
    ['1e3', NaN],
    ['NaN', NaN],
    ['', NaN],
    ['0x10', NaN],
  ])('parseInteger(%j) = %d', (t, v) => expect(parseInteger(t)).toBe(v));

  it.each([
    ['3', 3],
    ['.5', 0.5],
    ['2.', 2],
    ['3e-1', 0.3],
    ['NaN', NaN],
    ['Infinity', NaN],
    ['1,5', NaN],
  ])('parseDecimal(%j) = %d', (t, v) => expect(parseDecimal(t)).toBe(v));
});

describe('steps', () => {
  it.each(['0', '-1', 'NaN', '100000', '', '2.5', 'abc'])('refuses %j with a message', (t) => {
    const c = validateSteps(t, PACK);
    expect(c.ok).toBe(false);
    expect(err(c)).toMatch(/steps/);
  });
  it('accepts 1..max_steps', () => {
    expect(validateSteps('1', PACK)).toEqual({ ok: true, value: 1 });
    expect(validateSteps('200', PACK)).toEqual({ ok: true, value: 200 });
    expect(validateSteps('201', PACK).ok).toBe(false);
  });
  it('says the range', () => expect(err(validateSteps('100000', PACK))).toContain('from 1 to 200'));
});

describe('seed', () => {
  it('accepts 0 and 2^32-1', () => {
    expect(validateSeed('0')).toEqual({ ok: true, value: 0 });
    expect(validateSeed(String(MAX_SEED))).toEqual({ ok: true, value: 4294967295 });
  });
  it.each(['4294967296', '-1', '99999999999999999999', '1.5', 'seed'])('refuses %j', (t) =>
    expect(validateSeed(t).ok).toBe(false),
  );
  it('a random seed is in range', () => {
    for (let i = 0; i < 50; i++) {
      const s = randomSeed();
      expect(Number.isInteger(s) && s >= 0 && s <= MAX_SEED).toBe(true);
    }
  });
  it('a seed list is parsed, checked and deduplicated', () => {
    expect(validateSeedList('42, 7 1234')).toEqual({ ok: true, value: [42, 7, 1234] });
    expect(err(validateSeedList('1, 1'))).toContain('twice');
    expect(err(validateSeedList('1, 4294967296'))).toContain('seed');
    expect(validateSeedList('').ok).toBe(false);
    expect(validateSeedList('1 2 3', 2).ok).toBe(false);
  });
});

describe('size', () => {
  it('wants a multiple of the pack size multiple, within limits', () => {
    expect(validateSize('64', PACK)).toEqual({ ok: true, value: 64 });
    expect(err(validateSize('50', PACK))).toMatch(/multiple of 16 \(try 48 or 64\)/);
    expect(err(validateSize('16', PACK))).toContain('from 32 to 256');
    expect(err(validateSize('512', PACK))).toContain('out of range');
    expect(validateSize('NaN', PACK).ok).toBe(false);
  });
  it('names the side', () => expect(err(validateSize('50', PACK, 'width'))).toMatch(/^The width/));
});

describe('token limit', () => {
  it('is a whole number from 1 to the max', () => {
    expect(validateMaxNewTokens('8')).toEqual({ ok: true, value: 8 });
    for (const t of ['0', '-3', '1.5', 'NaN', '5000']) expect(validateMaxNewTokens(t).ok).toBe(false);
    expect(validateMaxNewTokens('300', { ...DEFAULT_LIMITS, maxNewTokens: 256 }).ok).toBe(false);
  });
});

describe('guidance and strength', () => {
  it('guidance is finite, 0..30', () => {
    expect(validateGuidance('3')).toEqual({ ok: true, value: 3 });
    expect(validateGuidance('0')).toEqual({ ok: true, value: 0 });
    for (const t of ['-0.5', '31', 'NaN', 'Infinity', '']) expect(validateGuidance(t).ok).toBe(false);
  });
  it('strength is in (0, 1]', () => {
    expect(validateStrength('0.6')).toEqual({ ok: true, value: 0.6 });
    expect(validateStrength('1')).toEqual({ ok: true, value: 1 });
    for (const t of ['0', '1.01', '-0.2', 'NaN']) expect(validateStrength(t).ok).toBe(false);
  });
});

describe('prompt', () => {
  it('refuses blank prompts', () => {
    expect(err(validatePrompt(''))).toContain('empty');
    expect(validatePrompt('   \n\t').ok).toBe(false);
    expect(err(validatePrompt('', DEFAULT_LIMITS, 'question'))).toMatch(/^The question/);
  });
  it('keeps markup as it is (it is rendered as text)', () => {
    const p = '<img src=x onerror=alert(1)> <script>alert(2)</script>';
    expect(validatePrompt(p)).toEqual({ ok: true, value: p });
  });
  it('refuses a prompt longer than the reasoner takes', () => {
    expect(err(validatePrompt('a'.repeat(11), { ...DEFAULT_LIMITS, maxPromptChars: 10 }))).toContain('at most 10');
  });
});

describe('image files', () => {
  it('refuses a PDF by type or by name', () => {
    expect(err(validateImageFile({ name: 'paper.pdf', type: 'application/pdf', size: 1000 }))).toContain(
      'a PDF, not an image',
    );
    expect(err(validateImageFile({ name: 'paper.pdf', type: '', size: 1000 }))).toContain('a PDF');
  });
  it('refuses other types, empty and huge files, and no file', () => {
    expect(err(validateImageFile({ name: 'a.txt', type: 'text/plain', size: 3 }))).toContain('text/plain');
    expect(err(validateImageFile({ name: 'a.png', type: 'image/png', size: 0 }))).toContain('empty');
    expect(err(validateImageFile({ name: 'a.png', type: 'image/png', size: 64 * 2 ** 20 }))).toContain('MiB');
    expect(validateImageFile(null).ok).toBe(false);
  });
  it('accepts the usual image types', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/webp'])
      expect(validateImageFile({ name: 'x', type, size: 10 }).ok).toBe(true);
  });
});
