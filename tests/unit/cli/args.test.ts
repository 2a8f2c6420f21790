/**
 * The `rg` command line's argument parsing (src/cli/args.mjs), in Node: every command's flags, defaults left to the
 * pack, and each mistake refused as a UsageError with a one-line reason (the CLI exits 2 on it before any work).
 */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { COMMANDS, UsageError, parseCommandLine, usage } from '../../../src/cli/args.mjs';
import { main } from '../../../src/cli/rg.mjs';

const bad = (argv: string[]) => {
  try {
    parseCommandLine(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};

describe('rg argument parsing', () => {
  it('generate: every flag, both value forms, --cot / --no-cot', () => {
    const c = parseCommandLine([
      'generate',
      '--prompt',
      'three red circles',
      '--image=in.png',
      '--no-cot',
      '--system',
      'Be brief.',
      '--pack',
      'tiny-random',
      '--seed',
      '42',
      '--steps=4',
      '--guidance',
      '3',
      '--size',
      '64x48',
      '--max-new-tokens',
      '16',
      '--weights',
      'int8',
      '--out',
      'o',
      '--force',
      '--timeout',
      '90',
    ]);
    expect(c).toEqual({
      command: 'generate',
      prompt: 'three red circles',
      image: 'in.png',
      settings: {
        pack: 'tiny-random',
        cot: false,
        system: 'Be brief.',
        seed: 42,
        steps: 4,
        guidance: 3,
        width: 64,
        height: 48,
        maxNewTokens: 16,
        weights: 'int8',
      },
      out: 'o',
      force: true,
      timeoutS: 90,
    });
  });

  it('generate: what is not given is left to the pack', () => {
    expect(parseCommandLine(['generate', '--prompt', 'p', '--out', 'o', '--cot'])).toEqual({
      command: 'generate',
      prompt: 'p',
      image: undefined,
      settings: { cot: true },
      out: 'o',
      force: false,
      timeoutS: 0,
    });
  });

  it('understand, edit, compare, bench', () => {
    expect(parseCommandLine(['understand', '--image', 'a.png', '--question', 'how many?', '--out', 'o'])).toMatchObject(
      { command: 'understand', image: 'a.png', question: 'how many?', settings: {} },
    );
    expect(
      parseCommandLine([
        'edit',
        '--image',
        'a.png',
        '--instruction',
        'make it green',
        '--strength',
        '0.6',
        '--out',
        'o',
      ]),
    ).toMatchObject({ command: 'edit', settings: { strength: 0.6 } });
    expect(parseCommandLine(['compare', '--file', 'p.jsonl', '--seed', '7', '--out', 'o'])).toMatchObject({
      command: 'compare',
      file: 'p.jsonl',
      settings: { seed: 7 },
    });
    expect(parseCommandLine(['bench', '--filter', 'attention', '--json', 'b.json'])).toEqual({
      command: 'bench',
      filter: 'attention',
      json: 'b.json',
      reps: undefined,
      timeout: '600',
    });
  });

  it('help, per command and overall', () => {
    expect(parseCommandLine(['--help'])).toEqual({ command: 'help', topic: undefined });
    expect(parseCommandLine(['generate', '--prompt', 'x', '--help'])).toEqual({ command: 'help', topic: 'generate' });
    for (const name of Object.keys(COMMANDS)) expect(usage(name)).toContain(`rg ${name}`);
    expect(usage()).toContain('Exit status');
  });

  it('unknown commands and flags, stray words, repeats, missing values', () => {
    expect(bad([])).toMatch(/no command/);
    expect(bad(['paint'])).toMatch(/unknown command "paint"/);
    expect(bad(['generate', '--prompt', 'p', '--out', 'o', '--colour', 'red'])).toBe(
      'unknown option --colour for rg generate (see rg generate --help)',
    );
    expect(bad(['understand', '--image', 'a.png', '--question', 'q', '--out', 'o', '--steps', '3'])).toMatch(
      /unknown option --steps for rg understand/,
    );
    expect(bad(['generate', 'three circles', '--out', 'o'])).toMatch(/unexpected argument "three circles"/);
    expect(bad(['generate', '--prompt', 'a', '--prompt', 'b', '--out', 'o'])).toBe('--prompt is given more than once');
    expect(bad(['generate', '--prompt', 'a', '--out'])).toMatch(/--out needs a value/);
    expect(bad(['generate', '--prompt', '--out', 'o'])).toMatch(/--prompt needs a value/);
    expect(bad(['generate', '--prompt', 'a', '--out', 'o', '--cot=yes'])).toBe('--cot takes no value');
  });

  it('required flags: --out above all', () => {
    expect(bad(['generate', '--prompt', 'p'])).toMatch(/^--out is required/);
    expect(bad(['generate', '--out', 'o'])).toMatch(/^--prompt is required/);
    expect(bad(['edit', '--instruction', 'x', '--out', 'o'])).toMatch(/^--image is required/);
    expect(bad(['compare', '--out', 'o'])).toMatch(/^--file is required/);
    expect(bad(['generate', '--prompt', '   ', '--out', 'o'])).toBe('--prompt is empty');
  });

  it('numbers: whole where whole, in range, no trailing junk', () => {
    const g = (...extra: string[]) => bad(['generate', '--prompt', 'p', '--out', 'o', ...extra]);
    expect(g('--steps', '-1')).toBe('--steps must be a whole number ≥ 1, got "-1"');
    expect(g('--steps', '0')).toMatch(/--steps must be a whole number ≥ 1/);
    expect(g('--steps', '2.5')).toMatch(/--steps must be a whole number/);
    expect(g('--steps', '4x')).toMatch(/--steps must be a whole number/);
    expect(g('--seed', '4294967296')).toBe('--seed must be a whole number from 0 to 4294967295, got "4294967296"');
    expect(g('--guidance', '-0.5')).toMatch(/--guidance must be a number ≥ 0/);
    expect(g('--guidance', 'NaN')).toMatch(/--guidance must be a number/);
    expect(g('--size', '64')).toMatch(/--size must be WIDTHxHEIGHT/);
    expect(g('--size', '0x64')).toMatch(/--size must be WIDTHxHEIGHT/);
    expect(g('--weights', 'fp16')).toMatch(/--weights must be one of f32, f16, bf16, int8, int4/);
    expect(g('--pack', 'no such id!')).toMatch(/--pack must be a pack id .*, an http\(s\) URL or a folder path/);
    expect(parseCommandLine(['generate', '--prompt', 'p', '--out', 'o', '--pack', '../packs/x'])).toMatchObject({
      settings: { pack: '../packs/x' },
    });
    expect(g('--timeout', '0')).toMatch(/--timeout must be a number above 0/);
    expect(bad(['edit', '--image', 'a.png', '--instruction', 'x', '--out', 'o', '--strength', '0'])).toMatch(
      /--strength must be a number above 0 and at most 1/,
    );
    expect(bad(['edit', '--image', 'a.png', '--instruction', 'x', '--out', 'o', '--strength', '1.5'])).toMatch(
      /--strength must be a number above 0 and at most 1/,
    );
    expect(
      parseCommandLine(['edit', '--image', 'a.png', '--instruction', 'x', '--out', 'o', '--strength', '1']),
    ).toMatchObject({ settings: { strength: 1 } });
    expect(
      parseCommandLine(['generate', '--prompt', 'p', '--out', 'o', '--guidance', '1e1', '--size', '32X32']),
    ).toMatchObject({ settings: { guidance: 10, width: 32, height: 32 } });
  });

  it('--reasoner-weights: f32, f16, bf16, int8 or int4 on generate, edit, understand, compare and rgpo', async () => {
    const runs: [string, string[]][] = [
      ['generate', ['--prompt', 'p']],
      ['edit', ['--image', 'a.png', '--instruction', 'x']],
      ['understand', ['--image', 'a.png', '--question', 'q']],
      ['compare', ['--file', 'p.jsonl']],
      ['rgpo', ['--prompt', 'p']],
    ];
    for (const [command, args] of runs) {
      for (const w of ['f32', 'f16', 'bf16', 'int8', 'int4']) {
        const c = parseCommandLine([command, ...args, '--out', 'o', '--reasoner-weights', w]);
        expect(c, `${command} ${w}`).toMatchObject({ settings: { reasonerWeights: w } });
      }
      expect(bad([command, ...args, '--out', 'o', '--reasoner-weights', 'fp16'])).toBe(
        '--reasoner-weights must be one of f32, f16, bf16, int8, int4, got "fp16"',
      );
      expect(bad([command, ...args, '--out', 'o', '--reasoner-weights'])).toMatch(/^--reasoner-weights needs a value/);
      expect(usage(command)).toContain('--reasoner-weights f32|f16|bf16|int8|int4');
    }
    expect(parseCommandLine(['generate', '--prompt', 'p', '--out', 'o'])).toMatchObject({ settings: {} });
    const { paintRequest } = await import('../../../src/cli/requests.mjs');
    expect(paintRequest({ reasonerWeights: 'int4' }, 'tiny-random')).toMatchObject({ reasonerWeights: 'int4' });
    const { FIELD_FLAGS } = await import('../../../src/cli/session.mjs');
    expect(FIELD_FLAGS.reasonerWeights).toBe('--reasoner-weights');
  });

  it('main(): a bad command line exits 2 with one line on stderr and nothing on stdout; --help exits 0', async () => {
    const sink = () => {
      let text = '';
      const stream = new Writable({ write: (chunk, _enc, done) => ((text += String(chunk)), done()) });
      return { stream, text: () => text };
    };
    const out = sink();
    const err = sink();
    expect(
      await main(['generate', '--prompt', 'p', '--steps', '-1', '--out', 'o'], { out: out.stream, err: err.stream }),
    ).toBe(2);
    expect(err.text()).toBe('rg: --steps must be a whole number ≥ 1, got "-1"\n');
    const err2 = sink();
    const argv = ['understand', '--image', 'a.png', '--question', 'q', '--reasoner-weights', 'int2', '--out', 'o'];
    expect(await main(argv, { out: out.stream, err: err2.stream })).toBe(2);
    expect(err2.text()).toBe('rg: --reasoner-weights must be one of f32, f16, bf16, int8, int4, got "int2"\n');
    expect(out.text()).toBe('');
    const help = sink();
    expect(await main(['edit', '--help'], { out: help.stream, err: err.stream })).toBe(0);
    expect(help.text()).toContain('--strength X');
  });
});

describe('limits shared with the app', () => {
  it('the command line allows the same seeds as the studio and the pipelines', async () => {
    const cli = await import('../../../src/cli/args.mjs');
    const { MAX_SEED } = await import('../../../src/limits');
    expect(cli.MAX_SEED).toBe(MAX_SEED);
  });
});
