/**
 * Cascade thinking on the command line, in Node: `--cascade` / `--no-cascade` on generate, edit, compare and rgpo
 * (not understand), the JSONL `"cascade"` key of `rg compare`, refusal without chain of thought, and the request the
 * page receives.
 */
import { describe, expect, it } from 'vitest';
import { UsageError, parseCommandLine, usage } from '../../../src/cli/args.mjs';
import { parsePromptsFile } from '../../../src/cli/jsonl.mjs';
import { paintRequest } from '../../../src/cli/requests.mjs';
import { FIELD_FLAGS } from '../../../src/cli/session.mjs';

const refused = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('cascade thinking on the command line', () => {
  it('--cascade and --no-cascade reach the settings and the paint request', () => {
    const on = parseCommandLine(['generate', '--prompt', 'p', '--out', 'o', '--cascade']);
    expect(on).toMatchObject({ command: 'generate', settings: { cascade: true } });
    const off = parseCommandLine(['generate', '--prompt', 'p', '--out', 'o', '--no-cascade']);
    expect(off).toMatchObject({ settings: { cascade: false } });
    expect(paintRequest({ cascade: true, cot: true }, 'shapes')).toEqual({
      runId: '',
      pack: 'shapes',
      previewEvery: 0,
      cot: true,
      cascade: true,
    });
    expect(paintRequest({}, 'shapes')).not.toHaveProperty('cascade');
    for (const argv of [
      ['edit', '--image', 'a.png', '--instruction', 'i', '--out', 'o', '--cascade'],
      ['compare', '--file', 'f.jsonl', '--out', 'o', '--cascade'],
      ['rgpo', '--prompt', 'p', '--out', 'o', '--cascade'],
    ]) {
      expect(parseCommandLine(argv)).toMatchObject({ settings: { cascade: true } });
    }
    expect(usage('generate')).toMatch(/--cascade\s+cascade thinking/);
    // A pipeline refusal on the field names the flag.
    expect(FIELD_FLAGS.cascade).toBe('--cascade');
  });

  it('refused: with --no-cot, with a value, on understand', () => {
    expect(refused(() => parseCommandLine(['generate', '--prompt', 'p', '--out', 'o', '--no-cot', '--cascade']))).toBe(
      '--cascade needs chain of thought (the answer is reasoned on again with it); turn chain of thought on',
    );
    expect(refused(() => parseCommandLine(['generate', '--prompt', 'p', '--out', 'o', '--cascade=yes']))).toBe(
      '--cascade takes no value',
    );
    expect(
      refused(() => parseCommandLine(['understand', '--image', 'a.png', '--question', 'q', '--out', 'o', '--cascade'])),
    ).toMatch(/unknown option --cascade for rg understand/);
  });

  it('JSONL: a line’s "cascade" over the command line’s; a wrong value names the line', () => {
    const items = parsePromptsFile(
      ['{"prompt": "a"}', '{"prompt": "b", "cascade": false}', '{"prompt": "c", "cascade": true, "cot": true}'].join(
        '\n',
      ),
      'p.jsonl',
      { cascade: true },
    );
    expect(items.map((i) => i.settings)).toEqual([{ cascade: true }, { cascade: false }, { cascade: true, cot: true }]);
    expect(refused(() => parsePromptsFile('{"prompt": "a", "cascade": "yes"}', 'p.jsonl'))).toBe(
      'p.jsonl:1: "cascade" must be true or false, got "yes"',
    );
    expect(
      refused(() => parsePromptsFile('{"prompt": "a"}\n{"prompt": "b", "cot": false, "cascade": true}', 'p.jsonl')),
    ).toBe(
      'p.jsonl:2: "cascade" needs chain of thought (the answer is reasoned on again with it); turn chain of thought on',
    );
  });
});
