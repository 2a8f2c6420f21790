/**
 * `rg eval` end to end on the shapes pack, whose eval/set.json is version 2 (world v2: tools/shapes/eval_v2.py's test
 * split, written by make_pack.py --world v2); the heavy test fails at once on any other version. Kept small (--n 1:
 * the first prompt of each of the set's columns, each without and with CoT, and the questions about one image;
 * --steps 1 so the painter is quick). Accuracy values are never asserted (the pack gets retrained): the table's
 * structure is (src/cli/eval.mjs's header and row labels, one pair of cells per column, the answer-accuracy row), and
 * every figure in it is recomputed here from the per-prompt results in summary.json, which are themselves checked
 * against the saved images (the TypeScript shapes checker, run again in this process), the completions (the format
 * regex, anchored at the start as in eval_v2.py; the <answer> against the set's target), eval_v2's rule for
 * out-of-world prompts (right with CoT only when nothing is painted and the <answer> is the set's) and eval/set.json
 * (PyTorch's per-prompt verdicts).
 * Bad arguments exit 2 and write nothing.
 */
import { expect, test } from '@playwright/test';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePngRgba } from '../../src/pipeline/png';
import { checkShapes, shapesMatch, type ShapeColour, type ShapeKind } from '../../src/pipeline/rgpo/shapes_checker';
import { FORMAT_REGEX } from '../../src/models/reasoner/parse';
import { PT2_NO_COT, PT_COT, PT_SFT, ROW_LABELS, answerOf, pct, tableHeader } from '../../src/cli/eval.mjs';
import { ROOT, rg } from './rg_cli';

const SET = JSON.parse(readFileSync(join(ROOT, 'public/models/shapes/eval/set.json'), 'utf8'));

const fresh = () => mkdtempSync(join(tmpdir(), 'rg-eval-e2e-'));

interface Column {
  key: string;
  label: string;
}
/** A prompt of a version 2 set (docs/formats.md): out of world (`intent` "oow") has n 0 and no colour or kind. */
interface SetPrompt {
  prompt: string;
  n: number;
  colour: ShapeColour | null;
  kind: ShapeKind | null;
  template: string;
  intent: string;
  column: string;
  answer: string;
}
interface Run {
  ok: boolean;
  counts: Record<string, number>;
  text: string;
  formatOk: boolean;
  image: string;
  answerOk?: boolean;
}
interface PromptResult {
  list: string;
  index: number;
  prompt: string;
  n: number;
  colour: ShapeColour | null;
  kind: ShapeKind | null;
  template: string;
  noCot: Run;
  cot: Run;
  pytorch: { noCot: boolean; cot: boolean; format: boolean; answer: boolean };
}

test.describe('rg eval', () => {
  test.describe.configure({ timeout: 300_000 });

  const tableTitle =
    '--n 1 on shapes (set version 2): one table whose figures follow from the per-prompt results; summary.json, images';
  // Heavy (about a minute: the shapes pack, one prompt per column, both rows): `npm run test:heavy`, not `npm test`.
  test(tableTitle, { tag: '@heavy' }, async () => {
    expect(
      [SET.format, SET.version],
      'public/models/shapes/eval/set.json must be an rg-shapes-eval version 2 set (a world v2 pack)',
    ).toEqual(['rg-shapes-eval', 2]);
    const columns = SET.columns as Column[];
    const setPrompts = SET.prompts as SetPrompt[];
    expect(columns.length).toBeGreaterThan(0);
    // --n 1 runs the first prompt of each column, in the set's order; k is its place in the set (PyTorch's lists).
    const chosen = setPrompts
      .map((p, k) => ({ p, k }))
      .filter(({ p, k }) => setPrompts.findIndex((q) => q.column === p.column) === k);
    expect(chosen.map(({ p }) => p.column).sort()).toEqual(columns.map((c) => c.key).sort());

    const out = join(fresh(), 'eval');
    const t0 = Date.now();
    const r = await rg(['eval', '--pack', 'shapes', '--n', '1', '--steps', '1', '--out', out]);
    console.log(`rg eval --n 1 --steps 1: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.code, r.stderr).toBe(0);
    // Progress on stderr: the set, then one line per prompt and per image.
    expect(r.stderr).toMatch(/^eval\/set\.json \(world v2, test split\): /m);
    chosen.forEach(({ p }, i) => {
      const line = `[${i + 1}/${chosen.length}] ${p.column} ${JSON.stringify(p.prompt)} → `;
      expect(
        r.stderr.split('\n').some((l) => l.startsWith(line)),
        line,
      ).toBe(true);
    });
    expect(r.stderr).toMatch(/^\[understanding 1\/1\] eval\/u_000\.png: \d+\/\d+ exact$/m);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.columns).toEqual(columns);
    expect(summary.pytorchRows).toEqual({ noCot: PT2_NO_COT, cot: PT_COT, notReproduced: PT_SFT });
    const prompts = summary.prompts as PromptResult[];
    expect(prompts.map((p) => [p.list, p.index, p.prompt, p.n, p.colour, p.kind, p.template])).toEqual(
      chosen.map(({ p }) => [p.column, 0, p.prompt, p.n, p.colour, p.kind, p.template]),
    );
    expect(readdirSync(join(out, 'images')).sort()).toEqual(
      columns.flatMap((c) => [`${c.key}-001-cot.png`, `${c.key}-001-no-cot.png`]).sort(),
    );
    const rows = SET.pytorch.rows;
    for (const [i, p] of prompts.entries()) {
      const { p: want, k } = chosen[i]!;
      // The PyTorch side is eval/set.json's per-prompt verdicts for this prompt.
      expect(p.pytorch, p.prompt).toEqual({
        noCot: rows[PT2_NO_COT].image[k] === 1,
        cot: rows[PT_COT].image[k] === 1,
        format: rows[PT_COT].format[k] === 1,
        answer: rows[PT_COT].answer[k] === 1,
      });
      // The browser side: the checker on the saved image (n 0: nothing seen, whatever the colour and kind), the
      // format regex on the completion, the <answer> against the set's, and out of world's rule with CoT.
      const painted = (run: Run) => {
        const { rgba, width, height } = decodePngRgba(new Uint8Array(readFileSync(join(out, run.image))));
        const report = checkShapes(rgba, width, height, 4);
        expect(run.counts, run.image).toEqual(report.counts);
        return shapesMatch(report, want.n, want.colour as ShapeColour, want.kind as ShapeKind);
      };
      expect(p.noCot.ok, p.noCot.image).toBe(painted(p.noCot));
      expect(p.noCot.answerOk, p.noCot.image).toBeUndefined();
      expect(p.cot.answerOk, p.cot.image).toBe(answerOf(p.cot.text) === want.answer);
      expect(p.cot.ok, p.cot.image).toBe(painted(p.cot) && (want.intent !== 'oow' || p.cot.answerOk));
      expect(p.cot.formatOk, p.cot.image).toBe(FORMAT_REGEX.test(p.cot.text));
    }
    const questions = summary.understanding.questions as {
      image: string;
      question: string;
      expected: string;
      got: string;
      ok: boolean;
    }[];
    expect(questions.map((q) => [q.image, q.question, q.expected])).toEqual(
      (SET.understanding[0].questions as { question: string; answer: string }[]).map((q) => [
        SET.understanding[0].image,
        q.question,
        q.answer,
      ]),
    );
    for (const q of questions) expect(q.ok).toBe(q.got === q.expected);

    // The table: header, separator, the five rows, each figure recomputed from the results above.
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([tableHeader(columns), '|---'.repeat(2 * columns.length + 2) + '|']);
    expect(lines[0]).toBe(
      '| |' +
        columns.map((c) => ` ${c.label}: browser | ${c.label}: PyTorch |`).join('') +
        ' prompts where browser and PyTorch agree |',
    );
    const count = (xs: boolean[]) => xs.filter(Boolean).length;
    const row = (label: string, b: (p: PromptResult) => boolean, t: (p: PromptResult) => boolean) =>
      `| ${label} |` +
      columns
        .map(({ key }) => {
          const ps = prompts.filter((p) => p.list === key);
          return ` ${pct(count(ps.map(b)), ps.length)} | ${pct(count(ps.map(t)), ps.length)} |`;
        })
        .join('') +
      ` ${count(prompts.map((p) => b(p) === t(p)))}/${prompts.length} |`;
    expect(lines.slice(2, 7)).toEqual([
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
        (p) => p.pytorch.format,
      ),
      row(
        ROW_LABELS.answer,
        (p) => p.cot.answerOk === true,
        (p) => p.pytorch.answer,
      ),
      `| ${ROW_LABELS.understanding} | ${pct(count(questions.map((q) => q.ok)), questions.length)} ` +
        `| ${pct(SET.pytorch.understanding[0], SET.pytorch.understanding[1])} |` +
        ' |'.repeat(2 * columns.length - 2) +
        ' — |',
    ]);
    expect(lines[7]).toBe('');
    expect(r.stdout).toContain(`the rows "${PT2_NO_COT}" and "${PT_COT}" of eval/set.json`);
    expect(r.stdout).toContain(`"${PT_SFT}" row needs the SFT checkpoint and is not reproduced`);
    expect(r.stdout).toContain(
      "Out of world: right with CoT only when nothing is painted and the <answer> is the set's",
    );
    if (SET.settings.steps !== 1)
      expect(r.stdout).toContain(`--steps: the browser painted with 1 steps, PyTorch with ${SET.settings.steps}`);
    expect(summary.table).toBe(lines.slice(0, 7).join('\n'));
  });

  test('bad arguments, and a pack without eval/set.json, exit 2 with a one-line reason and write nothing', async () => {
    const dir = fresh();
    // One refusal of each stage (the arguments, the pack id, the pack's files); the others are unit tests
    // (tests/unit/cli/args.test.ts, eval.test.ts, pack_limits.test.ts).
    const cases: [string[], string][] = [
      [['eval', '--n', '0', '--out', join(dir, 'a')], 'rg: --n must be a whole number ≥ 1, got "0"'],
      [['eval', '--pack', 'nope', '--out', join(dir, 'd')], 'rg: --pack nope: no such pack'],
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
