/**
 * `rg compare`'s prompts file (src/cli/jsonl.mjs) and the CLI's file handling (src/cli/files.mjs), in Node: lines
 * become runs with the command line's settings as defaults; a malformed line is refused with its line number;
 * input images are sniffed; results appear at --out only when complete.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../src/cli/args.mjs';
import { parsePromptsFile, toCsv } from '../../../src/cli/jsonl.mjs';
import { Staging, checkOut, readImage, sniffImage } from '../../../src/cli/files.mjs';

const refuse = (content: string) => {
  try {
    parsePromptsFile(content, 'p.jsonl');
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('compare prompts file', () => {
  it('one run per non-blank line; line settings over the command line’s; folder names', () => {
    const items = parsePromptsFile(
      [
        '{"prompt": "three red circles"}',
        '',
        '  {"prompt": "two squares", "cot": false, "seed": 7, "size": "32x48", "name": "squares"}  ',
        '{"prompt":"x","width":64,"height":32,"max_new_tokens":8,"reasoner_weights":"int4"}',
      ].join('\r\n'),
      'p.jsonl',
      { seed: 42, steps: 4 },
    );
    expect(items).toEqual([
      { line: 1, name: '001', prompt: 'three red circles', settings: { seed: 42, steps: 4 } },
      {
        line: 3,
        name: 'squares',
        prompt: 'two squares',
        settings: { seed: 7, steps: 4, cot: false, width: 32, height: 48 },
      },
      {
        line: 4,
        name: '003',
        prompt: 'x',
        settings: { seed: 42, steps: 4, width: 64, height: 32, maxNewTokens: 8, reasonerWeights: 'int4' },
      },
    ]);
  });

  it('a malformed line is reported with its line number', () => {
    expect(refuse('{"prompt": "a"}\n{"prompt": "b",}\n')).toMatch(/^p\.jsonl:2: not valid JSON/);
    expect(refuse('{"prompt": "a"}\n\n["b"]')).toBe('p.jsonl:3: each line must be a JSON object like {"prompt": "…"}');
    expect(refuse('{"promt": "a"}')).toMatch(/^p\.jsonl:1: unknown key "promt"/);
    expect(refuse('{"seed": 1}')).toBe('p.jsonl:1: "prompt" is missing');
    expect(refuse('{"prompt": 5}')).toBe('p.jsonl:1: "prompt" must be text');
    expect(refuse('{"prompt": " "}')).toBe('p.jsonl:1: "prompt" is empty');
    expect(refuse('{"prompt": "a"}\n{"prompt": "b", "steps": -1}')).toBe(
      'p.jsonl:2: "steps" must be a whole number ≥ 1, got "-1"',
    );
    expect(refuse('{"prompt": "a", "steps": "4"}')).toBe('p.jsonl:1: "steps" must be a number, got "4"');
    expect(refuse('{"prompt": "a", "seed": 1.5}')).toMatch(/^p\.jsonl:1: "seed" must be a whole number/);
    expect(refuse('{"prompt": "a", "cot": "yes"}')).toBe('p.jsonl:1: "cot" must be true or false, got "yes"');
    expect(refuse('{"prompt": "a", "width": 64}')).toBe('p.jsonl:1: "width" and "height" go together');
    expect(refuse('{"prompt": "a", "size": "64x64", "width": 64, "height": 64}')).toMatch(/either "size" or "width"/);
    expect(refuse('{"prompt": "a", "max_new_tokens": 0}')).toMatch(
      /^p\.jsonl:1: "max_new_tokens" must be a whole number ≥ 1/,
    );
    expect(refuse('{"prompt": "a", "name": "../x"}')).toMatch(/^p\.jsonl:1: "name" must be 1 to 64 letters/);
    expect(refuse('{"prompt": "a", "name": "x"}\n{"prompt": "b", "name": "x"}')).toBe(
      'p.jsonl:2: the folder name "x" is already used by line 1',
    );
    expect(refuse('\n  \n')).toMatch(/^p\.jsonl: no prompts/);
    expect(refuse('{"prompt": "a", "reasoner_weights": "q4"}')).toBe(
      'p.jsonl:1: "reasoner_weights" must be one of f32, f16, bf16, int8, int4, got "q4"',
    );
  });

  it('CSV quoting', () => {
    expect(toCsv(['a', 'b'], [{ a: 'x,y', b: 'say "hi"\nok' }, { a: 1 }])).toBe(
      'a,b\r\n"x,y","say ""hi""\nok"\r\n1,\r\n',
    );
  });
});

describe('CLI files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-cli-'));

  it('input images: missing, empty, not an image, an image', () => {
    expect(() => readImage('--image', join(dir, 'nope.png'))).toThrow(`--image ${join(dir, 'nope.png')}: no such file`);
    writeFileSync(join(dir, 'empty.png'), '');
    expect(() => readImage('--image', join(dir, 'empty.png'))).toThrow(/the file is empty/);
    writeFileSync(join(dir, 'text.png'), 'hello, not a picture');
    expect(() => readImage('--image', join(dir, 'text.png'))).toThrow(
      /not an image \(expected PNG, JPEG, WebP, GIF or BMP\)/,
    );
    expect(() => readImage('--image', dir)).toThrow(/not a file/);
    const png = readImage('--image', 'tests/fixtures/tiny-random/imagine.png');
    expect(png.type).toBe('image/png');
    expect(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImage(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
  });

  it('--out: new or empty folder, or --force; a file is refused', () => {
    expect(checkOut(join(dir, 'new', 'deeper'), false)).toBe(join(dir, 'new', 'deeper'));
    mkdirSync(join(dir, 'empty'));
    expect(checkOut(join(dir, 'empty'), false)).toBe(join(dir, 'empty'));
    mkdirSync(join(dir, 'full'));
    writeFileSync(join(dir, 'full', 'x'), 'x');
    expect(() => checkOut(join(dir, 'full'), false)).toThrow(/the folder is not empty/);
    // --force replaces only what rg wrote (tests/unit/cli/files.test.ts has the rest).
    expect(() => checkOut(join(dir, 'full'), true)).toThrow(/replaces only a folder rg wrote/);
    writeFileSync(join(dir, 'full', 'result.json'), JSON.stringify({ format: 'rg-cli-result', version: 1 }));
    expect(checkOut(join(dir, 'full'), true)).toBe(join(dir, 'full'));
    expect(() => checkOut(join(dir, 'text.png'), true)).toThrow(/exists and is not a folder/);
  });

  it('staging: nothing at --out until commit; discard leaves nothing; --force replaces', () => {
    const out = join(dir, 'run');
    const s = new Staging(out, false);
    s.write('a/b.txt', 'b');
    expect(existsSync(out)).toBe(false);
    s.commit();
    expect(readFileSync(join(out, 'a', 'b.txt'), 'utf8')).toBe('b');
    const before = readdirSync(dir).sort();
    const t = new Staging(join(dir, 'never'), false);
    t.write('x', 'x');
    t.discard();
    expect(readdirSync(dir).sort()).toEqual(before);
    writeFileSync(join(out, 'result.json'), JSON.stringify({ format: 'rg-cli-result', version: 1 }));
    const f = new Staging(out, true);
    f.write('c.txt', 'c');
    f.commit();
    expect(readdirSync(out)).toEqual(['c.txt']);
    expect(readdirSync(dir).sort()).toEqual(before);
    const g = new Staging(out, false);
    g.write('d.txt', 'd');
    expect(() => g.commit()).toThrow(/changed while rg ran/);
  });
});
