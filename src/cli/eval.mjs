// @ts-check
// @file `rg eval`: a pack's held-out evaluation (eval/set.json, written by tools/shapes/make_pack.py from
// tools/shapes/eval.py) run in the browser through the studio's pipelines, beside the PyTorch figures the set
// carries. Rows, as in eval.py: no CoT (plain system prompt, the painter conditioned on the prompt's prefill only:
// Imagine with cot off and one new token, which is never fed back), CoT (CoT system prompt, greedy up to
// settings.max_new_tokens, stopping at </answer>; prompt + generated tokens), the format match of the CoT
// generations (the pipeline's FORMAT_REGEX, anchored at the start like eval.py's FORMAT.match), and understanding
// (plain system prompt, greedy, exact match after strip). Every image uses the set's seed, steps and guidance and
// is read by the TypeScript shapes checker. The table's figures are computed here from the per-prompt results
// (pure functions, unit-tested).
import { UsageError } from './args.mjs';

export const EVAL_FILE = 'eval/set.json';
/** The PyTorch rows of eval/set.json this command reproduces (the pack is the RGPO checkpoint). */
export const PT_NO_COT = 'no CoT (RGPO pack, prompt prefill only)';
export const PT_COT = 'CoT after RGPO';
export const PT_SFT = 'CoT after SFT';

/**
 * @typedef {{ prompt: string, n: number, colour: string, kind: string, template: string }} EvalPrompt
 * @typedef {{ image: string, questions: { question: string, answer: string }[] }} EvalImage
 * @typedef {{ arith: number[], mix: number[], format: number[] | null }} PtRow
 * @typedef {{
 *   format: 'rg-shapes-eval', version: 1,
 *   settings: {
 *     seed: number, steps: number, guidance: number, max_new_tokens: number, understand_max_new_tokens: number
 *   },
 *   arithmetic: EvalPrompt[], mixing: EvalPrompt[], understanding: EvalImage[],
 *   pytorch: { rows: Record<string, PtRow>, understanding: [number, number], table: string }
 * }} EvalSet
 * @typedef {{
 *   ok: boolean, counts: Record<string, number>, text: string, answer: string, formatOk: boolean,
 *   image: string | null
 * }} ImageRun
 * @typedef {{
 *   list: 'arithmetic' | 'mixing', index: number, prompt: string, n: number, colour: string, kind: string,
 *   template: string,
 *   noCot: ImageRun, cot: ImageRun,
 *   pytorch: { noCot: boolean, cot: boolean, format: boolean | null }
 * }} PromptResult
 * @typedef {{ image: string, question: string, expected: string, got: string, ok: boolean }} QuestionResult
 */

/**
 * Checks the shape of eval/set.json (a failure of the pack, not of the command line).
 * @param {unknown} x @param {string} packId @returns {EvalSet}
 */
export function parseEvalSet(x, packId) {
  const bad = (/** @type {string} */ why) => new Error(`pack ${packId}: ${EVAL_FILE}: ${why}`);
  const o = /** @type {any} */ (x);
  if (!o || o.format !== 'rg-shapes-eval' || o.version !== 1) throw bad(`not an rg-shapes-eval version 1 file`);
  const s = o.settings;
  for (const k of ['seed', 'steps', 'guidance', 'max_new_tokens', 'understand_max_new_tokens']) {
    if (typeof s?.[k] !== 'number') throw bad(`settings.${k} is missing`);
  }
  for (const list of ['arithmetic', 'mixing']) {
    if (!Array.isArray(o[list])) throw bad(`${list} is not a list`);
    o[list].forEach((/** @type {any} */ p, /** @type {number} */ i) => {
      if (
        typeof p?.prompt !== 'string' ||
        !Number.isInteger(p.n) ||
        typeof p.colour !== 'string' ||
        typeof p.kind !== 'string'
      )
        throw bad(`${list}[${i}] is not {prompt, n, colour, kind}`);
    });
  }
  if (!Array.isArray(o.understanding)) throw bad('understanding is not a list');
  o.understanding.forEach((/** @type {any} */ u, /** @type {number} */ i) => {
    if (typeof u?.image !== 'string' || !Array.isArray(u.questions))
      throw bad(`understanding[${i}] is not {image, questions}`);
  });
  const rows = o.pytorch?.rows;
  for (const label of [PT_NO_COT, PT_COT]) {
    const r = rows?.[label];
    if (!r || !Array.isArray(r.arith) || !Array.isArray(r.mix)) throw bad(`pytorch.rows has no "${label}"`);
    if (r.arith.length !== o.arithmetic.length || r.mix.length !== o.mixing.length)
      throw bad(`pytorch.rows["${label}"] does not cover every prompt`);
  }
  if (!Array.isArray(rows[PT_COT].format) || rows[PT_COT].format.length !== o.arithmetic.length + o.mixing.length)
    throw bad(`pytorch.rows["${PT_COT}"].format does not cover every prompt`);
  if (!Array.isArray(o.pytorch.understanding) || o.pytorch.understanding.length !== 2)
    throw bad('pytorch.understanding is not [ok, total]');
  return /** @type {EvalSet} */ (o);
}

/**
 * eval.py's pct: "56.2% (54/96)", rounded as Python's format does. Both Python and toFixed round the exact binary
 * value; they differ only on an exact binary tie (x.x5 representable, e.g. 56.25), where Python rounds half to even.
 * @param {number} ok @param {number} total
 */
export function pct(ok, total) {
  const t = Math.max(1, total);
  const q = Math.floor((1000 * ok) / t);
  const exactTie = 2 * (1000 * ok - q * t) === t && (2 * q + 1) % 5 === 0;
  const s = exactTie ? ((q % 2 === 0 ? q : q + 1) / 10).toFixed(1) : ((100 * ok) / t).toFixed(1);
  return `${s}% (${ok}/${total})`;
}

/** @param {boolean[]} xs */
const count = (xs) => xs.filter(Boolean).length;

/**
 * The figures of the table, from the per-prompt results: browser and PyTorch per row and list, and how many prompts
 * the two agree on.
 * @param {PromptResult[]} prompts
 * @param {{ browser: [number, number], pytorch: [number, number] }} understanding
 */
export function figures(prompts, understanding) {
  const arith = prompts.filter((p) => p.list === 'arithmetic');
  const mix = prompts.filter((p) => p.list === 'mixing');
  /** @param {PromptResult[]} ps @param {(p: PromptResult) => boolean} f */
  const rate = (ps, f) => ({ ok: count(ps.map(f)), total: ps.length });
  /** @param {(p: PromptResult) => boolean} b @param {(p: PromptResult) => boolean} t */
  const row = (b, t) => ({
    arithmetic: { browser: rate(arith, b), pytorch: rate(arith, t) },
    mixing: { browser: rate(mix, b), pytorch: rate(mix, t) },
    agree: { ok: count(prompts.map((p) => b(p) === t(p))), total: prompts.length },
  });
  return {
    noCot: row(
      (p) => p.noCot.ok,
      (p) => p.pytorch.noCot,
    ),
    cot: row(
      (p) => p.cot.ok,
      (p) => p.pytorch.cot,
    ),
    format: row(
      (p) => p.cot.formatOk,
      (p) => p.pytorch.format === true,
    ),
    understanding: {
      browser: { ok: understanding.browser[0], total: understanding.browser[1] },
      pytorch: { ok: understanding.pytorch[0], total: understanding.pytorch[1] },
    },
  };
}

export const TABLE_HEADER =
  '| | arithmetic: browser | arithmetic: PyTorch | colour mixing: browser | colour mixing: PyTorch ' +
  '| prompts where browser and PyTorch agree |';
export const ROW_LABELS = {
  noCot: 'no CoT (prompt prefill only)',
  cot: 'CoT (this pack)',
  format: 'format-match rate (CoT generations)',
  understanding: 'understanding accuracy (questions about held-out images)',
};

/**
 * The markdown table (one) and the notes printed under it.
 * @param {ReturnType<typeof figures>} f
 * @param {{
 *   understandingImages: number, understandingImagesAll: number, subset: boolean,
 *   steps?: { used: number, set: number }
 * }} info
 */
export function renderTable(f, info) {
  /** @param {{ ok: number, total: number }} x */
  const c = (x) => pct(x.ok, x.total);
  /** @param {{ ok: number, total: number }} x */
  const n = (x) => `${x.ok}/${x.total}`;
  /** @param {string} label @param {ReturnType<typeof figures>['cot']} r */
  const line = (label, r) =>
    `| ${label} | ${c(r.arithmetic.browser)} | ${c(r.arithmetic.pytorch)} ` +
    `| ${c(r.mixing.browser)} | ${c(r.mixing.pytorch)} | ${n(r.agree)} |`;
  const table = [
    TABLE_HEADER,
    '|---|---|---|---|---|---|',
    line(ROW_LABELS.noCot, f.noCot),
    line(ROW_LABELS.cot, f.cot),
    line(ROW_LABELS.format, f.format),
    `| ${ROW_LABELS.understanding} | ${c(f.understanding.browser)} | ${c(f.understanding.pytorch)} | | | — |`,
  ].join('\n');
  const notes = [
    `PyTorch columns: the rows "${PT_NO_COT}" and "${PT_COT}" of eval/set.json on the same prompts ` +
      `(this pack is the RGPO checkpoint). The "${PT_SFT}" row needs the SFT checkpoint and is not reproduced here.`,
    `Understanding: the browser answered the questions about ${info.understandingImages} of ` +
      `${info.understandingImagesAll} images; PyTorch's figure covers all ${info.understandingImagesAll} ` +
      'and keeps totals only, so no per-question agreement.',
  ];
  if (info.subset)
    notes.push('--n: only the first N prompts of each list and the first N understanding images were run.');
  if (info.steps && info.steps.used !== info.steps.set) {
    notes.push(
      `--steps: the browser painted with ${info.steps.used} steps, PyTorch with ${info.steps.set}; ` +
        'the image figures and their agreement are not comparable.',
    );
  }
  return { table, notes };
}

/** The first n of a list (all when n is undefined). @template T @param {T[]} xs @param {number | undefined} n */
export const firstN = (xs, n) => (n === undefined ? xs : xs.slice(0, n));

/**
 * Runs the evaluation. `call` is the page bridge; `run` wraps one pipeline call (run id, timeout, cancel);
 * `log` prints progress on stderr; `write` (when --out is given) stores a file of the output folder.
 * @param {{
 *   pack: { id: string, manifestSha256: string | null }, n: number | undefined, steps?: number | undefined,
 *   call: (method: string, ...args: unknown[]) => Promise<any>,
 *   run: <T>(f: (runId: string) => Promise<T>) => Promise<T>,
 *   log: (line: string) => void,
 *   write: ((rel: string, data: string | Uint8Array) => void) | null,
 *   device: Record<string, unknown>,
 * }} ctx
 */
export async function runEval({ pack, n, steps: stepsOverride, call, run, log, write, device }) {
  const t0 = Date.now();
  const b64 = await call('packFile', pack.id, EVAL_FILE);
  if (b64 === null)
    throw new UsageError(
      `pack ${pack.id} has no ${EVAL_FILE} ` +
        '(rg eval needs a pack that ships its held-out evaluation set, such as shapes)',
    );
  let raw;
  try {
    raw = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  } catch (e) {
    throw new Error(`pack ${pack.id}: ${EVAL_FILE} is not valid JSON (${/** @type {Error} */ (e).message})`, {
      cause: e,
    });
  }
  const set = parseEvalSet(raw, pack.id);
  const s = set.settings;
  const steps = stepsOverride ?? s.steps;
  const pt = set.pytorch.rows;
  const lists = /** @type {const} */ ([
    ['arithmetic', 'arith'],
    ['mixing', 'mix'],
  ]);
  const total = lists.reduce((a, [list]) => a + firstN(set[list], n).length, 0);
  const images = firstN(set.understanding, n);
  log(
    `eval/set.json: ${set.arithmetic.length} arithmetic, ${set.mixing.length} colour-mixing prompts, ` +
      `${set.understanding.length} understanding images; running ${total} prompts × (no CoT, CoT) and ` +
      `${images.reduce((a, u) => a + u.questions.length, 0)} questions ` +
      `(seed ${s.seed}, ${steps} steps, guidance ${s.guidance})`,
  );

  /** @param {EvalPrompt} p @param {boolean} cot @param {string} name */
  const paint = async (p, cot, name) => {
    const r = await run((runId) =>
      call('imagine', {
        runId,
        pack: pack.id,
        prompt: p.prompt,
        cot,
        seed: s.seed,
        steps,
        guidance: s.guidance,
        maxNewTokens: cot ? s.max_new_tokens : 1,
        previewEvery: 0,
      }),
    );
    const check = await call('checkShapes', r.pngBase64, { n: p.n, colour: p.colour, kind: p.kind });
    let image = null;
    if (write) {
      image = `images/${name}.png`;
      write(image, Buffer.from(r.pngBase64, 'base64'));
    }
    return /** @type {ImageRun} */ ({
      ok: check.match,
      counts: check.counts,
      text: r.text,
      answer: r.answer,
      formatOk: r.formatOk === true,
      image,
    });
  };
  const mark = (/** @type {boolean} */ b) => (b ? 'ok' : '—');
  const seen = (/** @type {Record<string, number>} */ c) =>
    Object.entries(c)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'nothing';

  /** @type {PromptResult[]} */
  const prompts = [];
  let done = 0;
  for (const [list, key] of lists) {
    for (const [i, p] of firstN(set[list], n).entries()) {
      const name = `${list}-${String(i + 1).padStart(3, '0')}`;
      const noCot = await paint(p, false, `${name}-no-cot`);
      const cot = await paint(p, true, `${name}-cot`);
      const ptFormat = pt[PT_COT].format?.[(list === 'arithmetic' ? 0 : set.arithmetic.length) + i];
      prompts.push({
        list,
        index: i,
        prompt: p.prompt,
        n: p.n,
        colour: p.colour,
        kind: p.kind,
        template: p.template,
        noCot,
        cot,
        pytorch: {
          noCot: pt[PT_NO_COT][key][i] === 1,
          cot: pt[PT_COT][key][i] === 1,
          format: ptFormat === undefined ? null : ptFormat === 1,
        },
      });
      done++;
      log(
        `[${done}/${total}] ${list} ${JSON.stringify(p.prompt)} → ${p.n} ${p.colour} ${p.kind}: ` +
          `no CoT ${mark(noCot.ok)} (${seen(noCot.counts)}), ` +
          `CoT ${mark(cot.ok)} (${seen(cot.counts)}; answer ${JSON.stringify(cot.answer)})`,
      );
    }
  }

  /** @type {QuestionResult[]} */
  const questions = [];
  for (const [k, u] of images.entries()) {
    const png = await call('packFile', pack.id, u.image);
    if (png === null)
      throw new Error(`pack ${pack.id}: ${EVAL_FILE} names ${u.image}, which the manifest does not list`);
    for (const q of u.questions) {
      const r = await run((runId) =>
        call(
          'understand',
          { runId, pack: pack.id, prompt: q.question, cot: false, maxNewTokens: s.understand_max_new_tokens },
          png,
          'image/png',
        ),
      );
      const got = String(r.text).trim();
      questions.push({ image: u.image, question: q.question, expected: q.answer, got, ok: got === q.answer });
    }
    const mine = questions.filter((q) => q.image === u.image);
    log(`[understanding ${k + 1}/${images.length}] ${u.image}: ${count(mine.map((q) => q.ok))}/${mine.length} exact`);
  }

  const understanding = {
    browser: /** @type {[number, number]} */ ([count(questions.map((q) => q.ok)), questions.length]),
    pytorch: set.pytorch.understanding,
  };
  const f = figures(prompts, understanding);
  const subset =
    n !== undefined && (n < set.arithmetic.length || n < set.mixing.length || n < set.understanding.length);
  const { table, notes } = renderTable(f, {
    understandingImages: images.length,
    understandingImagesAll: set.understanding.length,
    subset,
    steps: { used: steps, set: s.steps },
  });
  const summary = {
    format: 'rg-cli-eval',
    version: 1,
    pack,
    device,
    settings: s,
    steps,
    n: n ?? null,
    counts: {
      arithmetic: firstN(set.arithmetic, n).length,
      mixing: firstN(set.mixing, n).length,
      understandingImages: images.length,
      understandingQuestions: questions.length,
    },
    pytorchRows: { noCot: PT_NO_COT, cot: PT_COT, notReproduced: PT_SFT },
    figures: f,
    prompts,
    understanding: { ...understanding, questions },
    pytorchTable: set.pytorch.table,
    table,
    notes,
    seconds: (Date.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
  if (write) write('summary.json', JSON.stringify(summary, null, 2) + '\n');
  return { table, notes, summary };
}
