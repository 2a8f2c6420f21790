/**
 * `rg eval` end to end on the shapes pack, kept small (--n 1: one arithmetic and one colour-mixing prompt, each
 * without and with CoT, and the questions about one image; --steps 1 so the painter is quick). Accuracy values are
 * never asserted (the pack gets retrained): the table's structure is, and every figure in it is recomputed here from
 * the per-prompt results in summary.json, which are themselves checked against the saved images (the TypeScript
 * shapes checker, run again in this process), the completions (the format regex, anchored at the start as in
 * eval.py) and eval/set.json (PyTorch's rows).
 * Bad arguments exit 2 and write nothing.
 */
import { expect, test } from '@playwright/test';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePngRgba } from '../../src/pipeline/png';
import { checkShapes, shapesMatch, type ShapeColour, type ShapeKind } from '../../src/pipeline/rgpo/shapes_checker';
import { FORMAT_REGEX } from '../../src/models/reasoner/parse';
import { PT_COT, PT_NO_COT, ROW_LABELS, TABLE_HEADER, pct } from '../../src/cli/eval.mjs';
import { ROOT, rg } from './rg_cli';

const SET = JSON.parse(readFileSync(join(ROOT, 'public/models/shapes/eval/set.json'), 'utf8'));
const MAX_STEPS: number = JSON.parse(readFileSync(join(ROOT, 'public/models/shapes/manifest.json'), 'utf8')).limits
  .max_steps;

const fresh = () => mkdtempSync(join(tmpdir(), 'rg-eval-e2e-'));

interface Run {
  ok: boolean;
  text: string;
  formatOk: boolean;
  image: string;
}
interface PromptResult {
  list: 'arithmetic' | 'mixing';
  index: number;
  prompt: string;
  n: number;
  colour: ShapeColour;
  kind: ShapeKind;
  noCot: Run;
  cot: Run;
  pytorch: { noCot: boolean; cot: boolean; format: boolean | null };
}

test.describe('rg eval', () => {
  test.describe.configure({ timeout: 300_000 });

  const tableTitle =
    '--n 1 on shapes: one table whose figures follow from the per-prompt results; summary.json and the images';
  // Heavy (a minute and a half: the shapes pack, both rows): `npm run test:heavy`, not `npm test`.
  test(tableTitle, { tag: '@heavy' }, async () => {
    const out = join(fresh(), 'eval');
    const t0 = Date.now();
    const r = await rg(['eval', '--pack', 'shapes', '--n', '1', '--steps', '1', '--out', out]);
    console.log(`rg eval --n 1 --steps 1: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.code, r.stderr).toBe(0);
    // Progress on stderr, one line per prompt and per image.
    expect(r.stderr).toMatch(/^\[1\/2\] arithmetic /m);
    expect(r.stderr).toMatch(/^\[2\/2\] mixing /m);
    expect(r.stderr).toMatch(/^\[understanding 1\/1\] eval\/u_000\.png: \d+\/\d+ exact$/m);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const prompts = summary.prompts as PromptResult[];
    expect(prompts.map((p) => [p.list, p.prompt])).toEqual([
      ['arithmetic', SET.arithmetic[0].prompt],
      ['mixing', SET.mixing[0].prompt],
    ]);
    expect(readdirSync(join(out, 'images')).sort()).toEqual([
      'arithmetic-001-cot.png',
      'arithmetic-001-no-cot.png',
      'mixing-001-cot.png',
      'mixing-001-no-cot.png',
    ]);
    for (const p of prompts) {
      const key = p.list === 'arithmetic' ? 'arith' : 'mix';
      // The PyTorch side is eval/set.json's rows for this prompt.
      expect(p.pytorch).toEqual({
        noCot: SET.pytorch.rows[PT_NO_COT][key][p.index] === 1,
        cot: SET.pytorch.rows[PT_COT][key][p.index] === 1,
        format: SET.pytorch.rows[PT_COT].format[(p.list === 'arithmetic' ? 0 : SET.arithmetic.length) + p.index] === 1,
      });
      // The browser side: the checker on the saved image, and the format regex (searched) on the completion.
      for (const run of [p.noCot, p.cot]) {
        const { rgba, width, height } = decodePngRgba(new Uint8Array(readFileSync(join(out, run.image))));
        expect(run.ok, run.image).toBe(shapesMatch(checkShapes(rgba, width, height, 4), p.n, p.colour, p.kind));
      }
      expect(p.cot.formatOk).toBe(FORMAT_REGEX.test(p.cot.text));
    }
    const questions = summary.understanding.questions as { expected: string; got: string; ok: boolean }[];
    expect(questions).toHaveLength(SET.understanding[0].questions.length);
    for (const q of questions) expect(q.ok).toBe(q.got === q.expected);

    // The table: header, separator, the four rows, each figure recomputed from the results above.
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([TABLE_HEADER, '|---|---|---|---|---|---|']);
    const count = (xs: boolean[]) => xs.filter(Boolean).length;
    const arith = prompts.filter((p) => p.list === 'arithmetic');
    const mix = prompts.filter((p) => p.list === 'mixing');
    const row = (label: string, b: (p: PromptResult) => boolean, t: (p: PromptResult) => boolean) =>
      `| ${label} | ${pct(count(arith.map(b)), arith.length)} | ${pct(count(arith.map(t)), arith.length)} ` +
      `| ${pct(count(mix.map(b)), mix.length)} | ${pct(count(mix.map(t)), mix.length)} ` +
      `| ${count(prompts.map((p) => b(p) === t(p)))}/${prompts.length} |`;
    expect(lines.slice(2, 6)).toEqual([
      row(
        ROW_LABELS.noCot,
        (p) => p.noCot.ok,
        (p) => p.pytorch.noCot,
      ),
      row(
        ROW_LABELS.cot,
        (p) => p.cot.ok,
        (p) => p.pytorch.cot,
      ),
      row(
        ROW_LABELS.format,
        (p) => p.cot.formatOk,
        (p) => p.pytorch.format === true,
      ),
      `| ${ROW_LABELS.understanding} | ${pct(count(questions.map((q) => q.ok)), questions.length)} ` +
        `| ${pct(SET.pytorch.understanding[0], SET.pytorch.understanding[1])} | | | — |`,
    ]);
    expect(lines[6]).toBe('');
    expect(r.stdout).toContain('"CoT after SFT" row needs the SFT checkpoint and is not reproduced');
    expect(r.stdout).toContain('--steps: the browser painted with 1 steps');
    expect(summary.table).toBe(lines.slice(0, 6).join('\n'));
  });

  test('bad arguments, and a pack without eval/set.json, exit 2 with a one-line reason and write nothing', async () => {
    const dir = fresh();
    const cases: [string[], string][] = [
      [['eval', '--n', '0', '--out', join(dir, 'a')], 'rg: --n must be a whole number ≥ 1, got "0"'],
      [['eval', '--steps', 'many', '--out', join(dir, 'b')], 'rg: --steps must be a whole number ≥ 1, got "many"'],
      [
        ['eval', '--prompt', 'x', '--out', join(dir, 'c')],
        'rg: unknown option --prompt for rg eval (see rg eval --help)',
      ],
      [['eval', '--pack', 'nope', '--out', join(dir, 'd')], 'rg: --pack nope: no such pack'],
      [
        ['eval', '--pack', 'shapes', '--steps', String(MAX_STEPS + 1), '--out', join(dir, 'f')],
        `rg: --steps must be at most ${MAX_STEPS} for pack shapes, got ${MAX_STEPS + 1}`,
      ],
      [
        ['eval', '--pack', 'tiny-random', '--n', '1', '--out', join(dir, 'e')],
        'rg: pack tiny-random has no eval/set.json',
      ],
    ];
    for (const [args, reason] of cases) {
      const r = await rg(args, 120_000);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
      const last = r.stderr.trim().split('\n').at(-1)!;
      expect(last.startsWith(reason), `${last} should start with ${reason}`).toBe(true);
      expect(r.stdout).toBe('');
      expect(readdirSync(dir)).toEqual([]);
    }
  });
});
