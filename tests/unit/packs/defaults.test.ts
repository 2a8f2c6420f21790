// resolvePackDefaults: what every view and the CLI read from a manifest. The input hints (placeholders, examples,
// Compare's starting prompt) come from the pack when it names them and are generic (no pack's world) when not;
// the token budget is the pack's one number for every view.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GENERIC_PLACEHOLDERS, resolvePackDefaults } from '../../../src/packs/defaults';
import { parseManifest, type Manifest } from '../../../src/packs/manifest';

const PUBLIC = fileURLToPath(new URL('../../../public/models/', import.meta.url));
const shipped = (id: string): { raw: Record<string, unknown>; m: Manifest } => {
  const raw = JSON.parse(readFileSync(`${PUBLIC}${id}/manifest.json`, 'utf8')) as Record<string, unknown>;
  return { raw, m: parseManifest(raw) };
};

describe('resolvePackDefaults: input hints', () => {
  it('shapes: its own placeholders and examples for every kind of input; Compare starts from its first example', () => {
    const { m } = shipped('shapes');
    const { inputs } = resolvePackDefaults(m);
    expect(inputs.prompt.placeholder).toBe(m.inputs?.prompt?.placeholder);
    expect(inputs.prompt.placeholder).not.toBe(GENERIC_PLACEHOLDERS.prompt);
    expect(inputs.prompt.examples).toEqual(m.examples);
    expect(inputs.prompt.initial).toBe(m.examples?.[0]);
    expect(inputs.instruction).toEqual(m.inputs?.instruction);
    expect(inputs.question).toEqual(m.inputs?.question);
    expect(inputs.question.examples.length).toBeGreaterThan(0);
    // Nothing shown for shapes asks for something outside its world (the old placeholders did: apples).
    const shown = [inputs.prompt, inputs.instruction, inputs.question].flatMap((h) => [h.placeholder, ...h.examples]);
    for (const text of shown) expect(text).not.toMatch(/apple/i);
  });

  it('tiny-random: its own placeholders (saying the weights are random), no examples, so no starting prompt', () => {
    const { inputs } = resolvePackDefaults(shipped('tiny-random').m);
    for (const h of [inputs.prompt, inputs.instruction, inputs.question]) {
      expect(h.placeholder).toMatch(/random weights/);
      expect(h.examples).toEqual([]);
    }
    expect(inputs.prompt.initial).toBe('');
  });

  it('a manifest without `inputs` or `examples` gets the generic placeholders and no examples', () => {
    const { raw } = shipped('shapes');
    const { inputs: _i, examples: _e, ...bare } = raw;
    const { inputs } = resolvePackDefaults(parseManifest(bare));
    expect(inputs).toEqual({
      prompt: { placeholder: GENERIC_PLACEHOLDERS.prompt, examples: [], initial: '' },
      instruction: { placeholder: GENERIC_PLACEHOLDERS.instruction, examples: [] },
      question: { placeholder: GENERIC_PLACEHOLDERS.question, examples: [] },
    });
  });

  it('each hint is taken on its own: a pack may name one placeholder and leave the others generic', () => {
    const { raw } = shipped('tiny-random');
    const m = parseManifest({ ...raw, inputs: { question: { examples: ['what is it?'] } } });
    const { inputs } = resolvePackDefaults(m);
    expect(inputs.question).toEqual({ placeholder: GENERIC_PLACEHOLDERS.question, examples: ['what is it?'] });
    expect(inputs.prompt.placeholder).toBe(GENERIC_PLACEHOLDERS.prompt);
    expect(inputs.instruction.placeholder).toBe(GENERIC_PLACEHOLDERS.instruction);
  });

  it('the manifest refuses empty or unknown hints, naming the field', () => {
    const { raw } = shipped('tiny-random');
    expect(() => parseManifest({ ...raw, inputs: { prompt: { placeholder: '' } } })).toThrowError(
      /inputs\.prompt\.placeholder/,
    );
    expect(() => parseManifest({ ...raw, inputs: { question: { examples: [''] } } })).toThrowError(
      /inputs\.question\.examples\.0/,
    );
    // Prompt examples live in `examples` (one list for Imagine, Compare and RGPO), not here.
    expect(() => parseManifest({ ...raw, inputs: { prompt: { examples: ['x'] } } })).toThrowError(/inputs\.prompt/);
    expect(() => parseManifest({ ...raw, inputs: { answer: {} } })).toThrowError(/inputs/);
    expect(() => parseManifest({ ...raw, examples: ['x'.repeat(501)] })).toThrowError(/examples\.0/);
  });
});

describe('resolvePackDefaults: token budget', () => {
  it.each(['shapes', 'tiny-random'])('%s: max_new_tokens is the one default every view starts from', (id) => {
    const { m } = shipped(id);
    expect(resolvePackDefaults(m).defaults.maxNewTokens).toBe(m.defaults.max_new_tokens);
  });
});
