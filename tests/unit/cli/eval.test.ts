/**
 * `rg eval` in Node (src/cli/eval.mjs, src/cli/args.mjs): its arguments (bad ones are UsageErrors, exit 2 before
 * anything runs), the check of eval/set.json, and the table's figures computed from per-prompt results.
 */
import { describe, expect, it } from 'vitest';
import { UsageError, parseCommandLine, usage } from '../../../src/cli/args.mjs';
import {
  PT_COT,
  PT_NO_COT,
  PT_SFT,
  figures,
  parseEvalSet,
  pct,
  renderTable,
  TABLE_HEADER,
} from '../../../src/cli/eval.mjs';

const bad = (argv: string[]) => {
  try {
    parseCommandLine(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};

describe('rg eval arguments', () => {
  it('all optional; --n, --steps, --pack, --out, --force, --timeout', () => {
    expect(parseCommandLine(['eval'])).toEqual({
      command: 'eval',
      n: undefined,
      steps: undefined,
      out: undefined,
      force: false,
      timeoutS: 0,
      settings: {},
    });
    expect(
      parseCommandLine([
        'eval',
        '--pack',
        'shapes',
        '--n',
        '2',
        '--steps=3',
        '--out',
        'o',
        '--force',
        '--timeout',
        '60',
      ]),
    ).toEqual({
      command: 'eval',
      n: 2,
      steps: 3,
      out: 'o',
      force: true,
      timeoutS: 60,
      settings: { pack: 'shapes', steps: 3 },
    });
    expect(usage('eval')).toContain('rg eval [--pack ID|URL|PATH] [--n N]');
  });

  it('bad values and unknown flags', () => {
    expect(bad(['eval', '--n', '0'])).toBe('--n must be a whole number ≥ 1, got "0"');
    expect(bad(['eval', '--n', '1.5'])).toBe('--n must be a whole number ≥ 1, got "1.5"');
    expect(bad(['eval', '--steps', '-1'])).toBe('--steps must be a whole number ≥ 1, got "-1"');
    expect(bad(['eval', '--pack', 'a b'])).toMatch(/^--pack must be a pack id/);
    expect(bad(['eval', '--seed', '1'])).toBe('unknown option --seed for rg eval (see rg eval --help)');
    expect(bad(['eval', '--out'])).toBe('--out needs a value (DIR)');
  });
});

const set = (over: Record<string, unknown> = {}) => ({
  format: 'rg-shapes-eval',
  version: 1,
  settings: { seed: 42, steps: 50, guidance: 3, max_new_tokens: 48, understand_max_new_tokens: 24 },
  arithmetic: [
    { prompt: 'a', n: 1, colour: 'red', kind: 'circle', template: 't' },
    { prompt: 'b', n: 2, colour: 'blue', kind: 'square', template: 't' },
  ],
  mixing: [{ prompt: 'c', n: 3, colour: 'green', kind: 'triangle', template: 'mix' }],
  understanding: [{ image: 'eval/u_000.png', questions: [{ question: 'q', answer: '1' }] }],
  pytorch: {
    rows: {
      [PT_NO_COT]: { arith: [0, 1], mix: [0], format: null },
      [PT_SFT]: { arith: [1, 1], mix: [0], format: [1, 1, 1] },
      [PT_COT]: { arith: [1, 0], mix: [1], format: [1, 1, 0] },
    },
    understanding: [3, 8],
    table: '',
  },
  ...over,
});

describe('eval/set.json', () => {
  it('accepts the format make_pack.py writes; refuses others naming the pack and the file', () => {
    expect(parseEvalSet(set(), 'shapes').arithmetic).toHaveLength(2);
    expect(() => parseEvalSet({ format: 'x' }, 'shapes')).toThrow(
      'pack shapes: eval/set.json: not an rg-shapes-eval version 1 file',
    );
    const short = set();
    short.pytorch.rows[PT_COT].arith = [1];
    expect(() => parseEvalSet(short, 'shapes')).toThrow(`pytorch.rows["${PT_COT}"] does not cover every prompt`);
  });
});

describe('the table', () => {
  const run = (ok: boolean, formatOk = true) => ({ ok, counts: {}, text: '', answer: '', formatOk, image: null });
  const prompts = [
    {
      list: 'arithmetic',
      index: 0,
      prompt: 'a',
      n: 1,
      colour: 'red',
      kind: 'circle',
      template: 't',
      noCot: run(false),
      cot: run(true),
      pytorch: { noCot: false, cot: true, format: true },
    },
    {
      list: 'arithmetic',
      index: 1,
      prompt: 'b',
      n: 2,
      colour: 'blue',
      kind: 'square',
      template: 't',
      noCot: run(false),
      cot: run(true, false),
      pytorch: { noCot: true, cot: false, format: true },
    },
    {
      list: 'mixing',
      index: 0,
      prompt: 'c',
      n: 3,
      colour: 'green',
      kind: 'triangle',
      template: 'mix',
      noCot: run(false),
      cot: run(false),
      pytorch: { noCot: false, cot: true, format: false },
    },
  ] as const;

  it('figures and agreement come from the per-prompt results', () => {
    const f = figures(prompts as never, { browser: [2, 8], pytorch: [184, 478] });
    expect(f.noCot).toEqual({
      arithmetic: { browser: { ok: 0, total: 2 }, pytorch: { ok: 1, total: 2 } },
      mixing: { browser: { ok: 0, total: 1 }, pytorch: { ok: 0, total: 1 } },
      agree: { ok: 2, total: 3 },
    });
    expect(f.cot.agree).toEqual({ ok: 1, total: 3 });
    expect(f.format).toEqual({
      arithmetic: { browser: { ok: 1, total: 2 }, pytorch: { ok: 2, total: 2 } },
      mixing: { browser: { ok: 1, total: 1 }, pytorch: { ok: 0, total: 1 } },
      agree: { ok: 1, total: 3 },
    });
    const { table, notes } = renderTable(f, {
      understandingImages: 1,
      understandingImagesAll: 50,
      subset: true,
      steps: { used: 2, set: 50 },
    });
    expect(table.split('\n')).toEqual([
      TABLE_HEADER,
      '|---|---|---|---|---|---|',
      '| no CoT (prompt prefill only) | 0.0% (0/2) | 50.0% (1/2) | 0.0% (0/1) | 0.0% (0/1) | 2/3 |',
      '| CoT (this pack) | 100.0% (2/2) | 50.0% (1/2) | 0.0% (0/1) | 100.0% (1/1) | 1/3 |',
      '| format-match rate (CoT generations) | 50.0% (1/2) | 100.0% (2/2) | 100.0% (1/1) | 0.0% (0/1) | 1/3 |',
      '| understanding accuracy (questions about held-out images) | 25.0% (2/8) | 38.5% (184/478) | | | — |',
    ]);
    expect(notes.join('\n')).toContain(`"${PT_SFT}" row needs the SFT checkpoint and is not reproduced`);
    expect(notes.join('\n')).toContain('--steps: the browser painted with 2 steps, PyTorch with 50');
  });

  it('pct is eval.py’s', () => {
    expect(pct(54, 96)).toBe('56.2% (54/96)');
    expect(pct(0, 0)).toBe('0.0% (0/0)');
    // Python: f"{x:.1f}" for each (half to even on exact binary ties only).
    const python: [number, number, string][] = [
      [3, 16, '18.8'],
      [1, 8, '12.5'],
      [1, 16, '6.2'],
      [16, 31, '51.6'],
      [184, 478, '38.5'],
      [1, 96, '1.0'],
      [3, 2000, '0.1'],
      [7, 2000, '0.3'],
    ];
    for (const [ok, total, s] of python) expect(pct(ok, total)).toBe(`${s}% (${ok}/${total})`);
  });
});
