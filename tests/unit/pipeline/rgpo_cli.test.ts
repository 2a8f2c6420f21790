// `rg rgpo` arguments and --eval prompt lists, checked in Node (exit 2 paths of the command line).
import { describe, expect, it } from 'vitest';
import { UsageError, parseCommandLine, usage } from '../../../src/cli/args.mjs';
import { parsePromptList } from '../../../src/cli/rg.mjs';

describe('rg rgpo arguments', () => {
  it('defaults: G 4, temperature 1, top-p 1; settings as for generate', () => {
    expect(parseCommandLine(['rgpo', '--prompt', 'three red circles', '--out', 'o'])).toMatchObject({
      command: 'rgpo',
      prompt: 'three red circles',
      group: 4,
      temperature: 1,
      topP: 1,
      out: 'o',
      settings: {},
    });
    expect(
      parseCommandLine([
        'rgpo',
        '--eval',
        'p.txt',
        '--group',
        '8',
        '--temperature',
        '0.7',
        '--top-p',
        '0.9',
        '--seed',
        '5',
        '--steps',
        '2',
        '--out',
        'o',
      ]),
    ).toMatchObject({
      eval: 'p.txt',
      group: 8,
      temperature: 0.7,
      topP: 0.9,
      settings: { seed: 5, steps: 2 },
    });
    expect(usage('rgpo')).toContain('rg rgpo (--prompt TEXT | --eval FILE)');
  });

  const refuseTitle =
    'refuses: neither or both of --prompt/--eval, G outside 1..16, temperature 0, top-p outside (0, 1], no --out';
  it(refuseTitle, () => {
    for (const argv of [
      ['rgpo', '--out', 'o'],
      ['rgpo', '--prompt', 'x', '--eval', 'f', '--out', 'o'],
      ['rgpo', '--prompt', 'x', '--group', '0', '--out', 'o'],
      ['rgpo', '--prompt', 'x', '--group', '17', '--out', 'o'],
      ['rgpo', '--prompt', 'x', '--group', '2.5', '--out', 'o'],
      ['rgpo', '--prompt', 'x', '--temperature', '0', '--out', 'o'],
      ['rgpo', '--prompt', 'x', '--top-p', '0', '--out', 'o'],
      ['rgpo', '--prompt', 'x', '--top-p', '1.01', '--out', 'o'],
      ['rgpo', '--prompt', 'x'],
      ['rgpo', '--prompt', '  ', '--out', 'o'],
    ]) {
      expect(() => parseCommandLine(argv), argv.join(' ')).toThrow(UsageError);
    }
  });

  it('prompt lists: lines or {"prompt"} objects; blanks and # comments skipped; bad lines named', () => {
    expect(parsePromptList('# c\ndraw 3 red circles\n\n  {"prompt": "draw 1 blue square"}  \r\nx\n', 'f')).toEqual([
      'draw 3 red circles',
      'draw 1 blue square',
      'x',
    ]);
    expect(() => parsePromptList('# only\n\n', 'f')).toThrow(/f: no prompts/);
    expect(() => parsePromptList('a\n{"prompt": 3}\n', 'f')).toThrow(/f:2: "prompt"/);
    expect(() => parsePromptList('{oops\n', 'f')).toThrow(/f:1: not valid JSON/);
  });
});
