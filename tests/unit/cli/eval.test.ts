/**
 * `rg eval` in Node (src/cli/eval.mjs, src/cli/args.mjs): its arguments (bad ones are UsageErrors, exit 2 before
 * anything runs), the check of eval/set.json (version 1, and version 2 of a world v2 pack with its prompts tagged by
 * column), and the table's figures computed from per-prompt results; a version 2 set run end to end on a stubbed page.
 */
import { describe, expect, it } from 'vitest';
import { UsageError, parseCommandLine, usage } from '../../../src/cli/args.mjs';
import {
  PT2_NO_COT,
  PT_COT,
  PT_NO_COT,
  PT_SFT,
  answerOf,
  evalItems,
  figures,
  parseEvalSet,
  pct,
  renderTable,
  runEval,
  TABLE_HEADER,
  type EvalSetV1,
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
    expect((parseEvalSet(set(), 'shapes') as EvalSetV1).arithmetic).toHaveLength(2);
    expect(() => parseEvalSet({ format: 'x' }, 'shapes')).toThrow(
      'pack shapes: eval/set.json: not an rg-shapes-eval version 1 or 2 file',
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

const OOW = 'I can only draw 0 to 9 circles, squares or triangles in red, orange, yellow, green, blue or purple';
// A world v2 set as make_pack.py --world v2 writes it (two of its five columns).
const setV2 = () => ({
  format: 'rg-shapes-eval',
  version: 2,
  world: 'v2',
  split: 'test',
  settings: { seed: 42, steps: 50, guidance: 3, max_new_tokens: 48, understand_max_new_tokens: 24 },
  columns: [
    { key: 'instances', label: '(a) held-out instances' },
    { key: 'out_of_world', label: 'out of world' },
  ],
  prompts: [
    { prompt: 'draw 2+3 red circles', n: 5, colour: 'red', kind: 'circle', template: 'add_count', intent: 'add' },
    { prompt: 'Show 7 minus 5 blue squares', n: 2, colour: 'blue', kind: 'square', template: 'sub_minus' },
    { prompt: 'a cat', n: 0, colour: null, kind: null, template: 'ow_thing', intent: 'oow', answer: OOW },
    { prompt: 'draw 12 red circles', n: 0, colour: null, kind: null, template: 'ow_thing', intent: 'oow', answer: OOW },
  ].map((p, i) => ({
    intent: 'sub',
    answer: `${p.n} ${p.colour} ${p.kind}s`,
    ...p,
    column: i < 2 ? 'instances' : 'out_of_world',
  })),
  understanding: [{ image: 'eval/u_000.png', questions: [{ question: 'how many shapes are there?', answer: '3' }] }],
  pytorch: {
    rows: {
      [PT2_NO_COT]: { image: [0, 0, 1, 1] },
      [PT_COT]: { image: [1, 1, 1, 0], format: [1, 1, 1, 1], answer: [1, 0, 1, 0] },
    },
    understanding: [5, 11],
    table: 'eval_v2 table',
  },
});

describe('eval/set.json version 2 (world v2)', () => {
  it('accepts it; every prompt tagged with one of its columns, and PyTorch rows covering every prompt', () => {
    const { columns, items, ptNoCot } = evalItems(parseEvalSet(setV2(), 'v2'));
    expect(columns.map((c) => c.key)).toEqual(['instances', 'out_of_world']);
    expect(ptNoCot).toBe(PT2_NO_COT);
    expect(items.map((it) => [it.column, it.index, it.outOfWorld, it.answer])).toEqual([
      ['instances', 0, false, '5 red circles'],
      ['instances', 1, false, '2 blue squares'],
      ['out_of_world', 0, true, OOW],
      ['out_of_world', 1, true, OOW],
    ]);
    expect(items[3].pytorch).toEqual({ noCot: true, cot: false, format: true, answer: false });

    const refuse = (edit: (s: ReturnType<typeof setV2>) => void, why: string) => {
      const s = setV2();
      edit(s);
      expect(() => parseEvalSet(s, 'v2')).toThrow(`pack v2: eval/set.json: ${why}`);
    };
    refuse((s) => (s.prompts[1].column = 'facts'), 'prompts[1].column "facts" is not one of columns');
    refuse((s) => (s.prompts[0].colour = null), 'prompts[0] is not {prompt, n, colour, kind, intent, answer}');
    refuse((s) => s.pytorch.rows[PT_COT].answer.pop(), `pytorch.rows["${PT_COT}"].answer does not cover every prompt`);
    refuse((s) => delete (s.pytorch.rows as Record<string, unknown>)[PT2_NO_COT], `pytorch.rows["${PT2_NO_COT}"]`);
    refuse((s) => s.columns.push({ key: 'instances', label: 'again' }), 'columns[2] is not {key, label}');
  });

  it("answerOf is eval_v2's answer_of", () => {
    expect(answerOf('<think>x</think><answer> 5 red circles </answer>')).toBe('5 red circles');
    expect(answerOf('<think>x</think><answer>5 red')).toBeNull();
    expect(answerOf('5 red circles')).toBeNull();
  });

  // The page, stubbed: what the reasoner says and what the checker sees, per prompt and CoT.
  const said: Record<string, [string, boolean]> = {
    'draw 2+3 red circles': ['<think>2 + 3 = 5</think><answer>5 red circles</answer>', true],
    'Show 7 minus 5 blue squares': ['<think>7 - 5 = 3</think><answer>3 blue squares</answer>', true],
    'a cat': [`<think>no</think><answer>${OOW}</answer>`, true],
    // nothing painted, but the answer is a caption: wrong for an out-of-world request
    'draw 12 red circles': ['<think>no</think><answer>0 red circles</answer>', true],
  };
  const page = () => {
    const calls: unknown[][] = [];
    const call = async (method: string, ...args: unknown[]) => {
      calls.push([method, ...args]);
      if (method === 'packFile')
        return args[1] === 'eval/set.json' ? Buffer.from(JSON.stringify(setV2())).toString('base64') : 'cG5n';
      if (method === 'imagine') {
        const req = args[0] as { prompt: string; cot: boolean };
        const [text, match] = req.cot ? said[req.prompt] : ['x', req.prompt !== 'draw 2+3 red circles'];
        return {
          pngBase64: Buffer.from(JSON.stringify({ match })).toString('base64'),
          text,
          answer: '',
          formatOk: true,
        };
      }
      if (method === 'checkShapes')
        return { ...JSON.parse(Buffer.from(args[0] as string, 'base64').toString()), counts: {} };
      if (method === 'understand') return { text: ' 3 ' };
      throw new Error(method);
    };
    return { calls, call };
  };
  const ctx = (call: (method: string, ...args: unknown[]) => Promise<unknown>, n?: number) => ({
    pack: { id: 'v2', manifestSha256: null },
    n,
    call,
    run: <T>(f: (runId: string) => Promise<T>) => f('r'),
    log: () => undefined,
    write: null,
    device: {},
  });

  it("prints eval_v2's columns and an answer row; out of world is right only with the set's answer", async () => {
    const { calls, call } = page();
    const { table, notes, summary } = await runEval(ctx(call));
    // out of world: n = 0 goes to the checker (nothing painted is right), the colour and kind are the set's null
    expect(calls.find((c) => c[0] === 'checkShapes' && (c[2] as { n: number }).n === 0)?.[2]).toEqual({
      n: 0,
      colour: null,
      kind: null,
    });
    const byPrompt = Object.fromEntries(summary.prompts.map((p) => [p.prompt, p]));
    expect(byPrompt['a cat'].cot).toMatchObject({ ok: true, answerOk: true });
    expect(byPrompt['draw 12 red circles'].cot).toMatchObject({ ok: false, answerOk: false });
    expect(byPrompt['Show 7 minus 5 blue squares'].cot).toMatchObject({ ok: true, answerOk: false });
    expect(table.split('\n')).toEqual([
      '| | (a) held-out instances: browser | (a) held-out instances: PyTorch | out of world: browser ' +
        '| out of world: PyTorch | prompts where browser and PyTorch agree |',
      '|---|---|---|---|---|---|',
      '| no CoT (prompt prefill only) | 50.0% (1/2) | 0.0% (0/2) | 100.0% (2/2) | 100.0% (2/2) | 3/4 |',
      '| CoT (this pack) | 100.0% (2/2) | 100.0% (2/2) | 50.0% (1/2) | 50.0% (1/2) | 4/4 |',
      '| format-match rate (CoT generations) | 100.0% (2/2) | 100.0% (2/2) | 100.0% (2/2) | 100.0% (2/2) | 4/4 |',
      "| answer accuracy (CoT: the <answer> is the target's) | 50.0% (1/2) | 50.0% (1/2) | 50.0% (1/2) " +
        '| 50.0% (1/2) | 4/4 |',
      '| understanding accuracy (questions about held-out images) | 100.0% (1/1) | 45.5% (5/11) | | | — |',
    ]);
    expect(notes.join('\n')).toContain(`the rows "${PT2_NO_COT}" and "${PT_COT}"`);
    expect(notes.join('\n')).toContain('Out of world: right with CoT only when nothing is painted');
    expect(summary.counts).toEqual({
      instances: 2,
      out_of_world: 2,
      understandingImages: 1,
      understandingQuestions: 1,
    });
  });

  it("an edit task runs through Edit with the pack's picture and the set's strength", async () => {
    const set = setV2();
    set.columns.push({ key: 'edit_instances', label: 'edit: held-out edit tasks' });
    const task = { prompt: 'make them blue', n: 3, colour: 'blue', kind: 'circle', template: 'ed_them_colour' };
    const edit = { ...task, intent: 'edit_recolour', column: 'edit_instances', answer: '3 blue circles' };
    set.prompts.push({ ...edit, image: 'eval/e_000.png', strength: 0.8 } as (typeof set.prompts)[number]);
    set.pytorch.rows[PT2_NO_COT].image.push(0);
    for (const k of ['image', 'format', 'answer'] as const) set.pytorch.rows[PT_COT][k].push(1);
    const calls: unknown[][] = [];
    const call = async (method: string, ...args: unknown[]) => {
      calls.push([method, ...args]);
      if (method === 'packFile')
        return args[1] === 'eval/set.json' ? Buffer.from(JSON.stringify(set)).toString('base64') : `png:${args[1]}`;
      if (method === 'imagine' || method === 'edit') {
        const cot = (args[0] as { cot: boolean }).cot;
        const text = cot ? '<think>3 red circles; they turn blue</think><answer>3 blue circles</answer>' : 'x';
        return { pngBase64: Buffer.from(JSON.stringify({ match: cot })).toString('base64'), text, formatOk: true };
      }
      if (method === 'checkShapes')
        return { ...JSON.parse(Buffer.from(args[0] as string, 'base64').toString()), counts: {} };
      if (method === 'understand') return { text: '3' };
      throw new Error(method);
    };
    const { summary, table } = await runEval(ctx(call));
    const edits = calls.filter((c) => c[0] === 'edit');
    expect(edits.map((c) => [(c[1] as { instruction: string }).instruction, (c[1] as { cot: boolean }).cot])).toEqual([
      ['make them blue', false],
      ['make them blue', true],
    ]);
    for (const c of edits) {
      expect(c[1]).toMatchObject({ pack: 'v2', strength: 0.8, seed: 42, steps: 50, guidance: 3 });
      expect(c.slice(2)).toEqual(['png:eval/e_000.png', 'image/png']);
    }
    expect(calls.filter((c) => c[0] === 'imagine')).toHaveLength(8); // the four drawing prompts, twice each
    const r = summary.prompts.find((p) => p.list === 'edit_instances')!;
    expect([r.noCot.ok, r.cot.ok, r.cot.answerOk]).toEqual([false, true, true]);
    expect(table).toContain('edit: held-out edit tasks: browser');

    const bad = setV2();
    bad.columns.push({ key: 'edit_instances', label: 'edit' });
    bad.prompts.push({ ...edit, image: 'eval/e_000.png' } as (typeof bad.prompts)[number]);
    expect(() => parseEvalSet(bad, 'v2')).toThrow('prompts[4] is an edit task without {image, strength}');
  });

  it('--n takes the first N of each column', async () => {
    const { call } = page();
    const { summary } = await runEval(ctx(call, 1));
    expect(summary.prompts.map((p) => [p.list, p.prompt])).toEqual([
      ['instances', 'draw 2+3 red circles'],
      ['out_of_world', 'a cat'],
    ]);
  });
});
