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
// Version 2 (a world v2 pack, from tools/shapes/eval_v2.py's test split): one list of prompts, each tagged with its
// column; the table has eval_v2's columns and a row for the reasoner's answer accuracy, and an out-of-world prompt
// is right with CoT only when its <answer> is the set's (eval_v2's rule).
import { UsageError } from './args.mjs';

export const EVAL_FILE = 'eval/set.json';
/** The PyTorch rows of eval/set.json this command reproduces (the pack is the RGPO checkpoint). */
export const PT_NO_COT = 'no CoT (RGPO pack, prompt prefill only)';
export const PT_COT = 'CoT after RGPO';
export const PT_SFT = 'CoT after SFT';
/** Version 2's PyTorch rows (eval_v2.py's labels). */
export const PT2_NO_COT = 'no CoT (RGPO, prompt prefill only)';
/** A version 1 set's columns: its two lists. */
export const V1_COLUMNS = [
  { key: 'arithmetic', label: 'arithmetic' },
  { key: 'mixing', label: 'colour mixing' },
];

/**
 * @typedef {{ prompt: string, n: number, colour: string, kind: string, template: string }} EvalPrompt
 * @typedef {{
 *   prompt: string, n: number, colour: string | null, kind: string | null, template: string, intent: string,
 *   column: string, answer: string, image?: string, strength?: number
 * }} EvalPromptV2  (an edit task has `image`, a file of the pack, and Edit's `strength`; `prompt` is its instruction)
 * @typedef {{ key: string, label: string }} EvalColumn
 * @typedef {{ image: string, questions: { question: string, answer: string }[] }} EvalImage
 * @typedef {{ arith: number[], mix: number[], format: number[] | null }} PtRow
 * @typedef {{
 *   format: 'rg-shapes-eval', version: 1,
 *   settings: {
 *     seed: number, steps: number, guidance: number, max_new_tokens: number, understand_max_new_tokens: number
 *   },
 *   arithmetic: EvalPrompt[], mixing: EvalPrompt[], understanding: EvalImage[],
 *   pytorch: { rows: Record<string, PtRow>, understanding: [number, number], table: string }
 * }} EvalSetV1
 * @typedef {{
 *   format: 'rg-shapes-eval', version: 2, world: string, split: string,
 *   settings: EvalSetV1['settings'], columns: EvalColumn[], prompts: EvalPromptV2[], understanding: EvalImage[],
 *   pytorch: {
 *     rows: Record<string, { image: number[], format?: number[], answer?: number[] }>,
 *     understanding: [number, number], table: string
 *   }
 * }} EvalSetV2
 * @typedef {EvalSetV1 | EvalSetV2} EvalSet
 * @typedef {{
 *   column: string, index: number, prompt: string, n: number, colour: string | null, kind: string | null,
 *   template: string, answer: string | null, outOfWorld: boolean, image: string | null, strength: number | null,
 *   pytorch: { noCot: boolean, cot: boolean, format: boolean | null, answer?: boolean }
 * }} EvalItem
 * @typedef {{
 *   ok: boolean, counts: Record<string, number>, text: string, answer: string, formatOk: boolean,
 *   image: string | null, answerOk?: boolean
 * }} ImageRun
 * @typedef {{
 *   list: string, index: number, prompt: string, n: number, colour: string | null, kind: string | null,
 *   template: string,
 *   noCot: ImageRun, cot: ImageRun,
 *   pytorch: { noCot: boolean, cot: boolean, format: boolean | null, answer?: boolean }
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
  if (!o || o.format !== 'rg-shapes-eval' || (o.version !== 1 && o.version !== 2))
    throw bad(`not an rg-shapes-eval version 1 or 2 file`);
  const s = o.settings;
  for (const k of ['seed', 'steps', 'guidance', 'max_new_tokens', 'understand_max_new_tokens']) {
    if (typeof s?.[k] !== 'number') throw bad(`settings.${k} is missing`);
  }
  if (!Array.isArray(o.understanding)) throw bad('understanding is not a list');
  o.understanding.forEach((/** @type {any} */ u, /** @type {number} */ i) => {
    if (typeof u?.image !== 'string' || !Array.isArray(u.questions))
      throw bad(`understanding[${i}] is not {image, questions}`);
  });
  if (!Array.isArray(o.pytorch?.understanding) || o.pytorch.understanding.length !== 2)
    throw bad('pytorch.understanding is not [ok, total]');
  return o.version === 1 ? parseV1(o, bad) : parseV2(o, bad);
}

/** @param {any} o @param {(why: string) => Error} bad @returns {EvalSetV1} */
function parseV1(o, bad) {
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
  const rows = o.pytorch?.rows;
  for (const label of [PT_NO_COT, PT_COT]) {
    const r = rows?.[label];
    if (!r || !Array.isArray(r.arith) || !Array.isArray(r.mix)) throw bad(`pytorch.rows has no "${label}"`);
    if (r.arith.length !== o.arithmetic.length || r.mix.length !== o.mixing.length)
      throw bad(`pytorch.rows["${label}"] does not cover every prompt`);
  }
  if (!Array.isArray(rows[PT_COT].format) || rows[PT_COT].format.length !== o.arithmetic.length + o.mixing.length)
    throw bad(`pytorch.rows["${PT_COT}"].format does not cover every prompt`);
  return o;
}

/** @param {any} o @param {(why: string) => Error} bad @returns {EvalSetV2} */
function parseV2(o, bad) {
  if (!Array.isArray(o.columns) || o.columns.length === 0) throw bad('columns is not a list');
  const keys = new Set();
  o.columns.forEach((/** @type {any} */ c, /** @type {number} */ i) => {
    if (typeof c?.key !== 'string' || c.key === 'agree' || typeof c.label !== 'string' || keys.has(c.key))
      throw bad(`columns[${i}] is not {key, label} with a key of its own`);
    keys.add(c.key);
  });
  if (!Array.isArray(o.prompts)) throw bad('prompts is not a list');
  o.prompts.forEach((/** @type {any} */ p, /** @type {number} */ i) => {
    const shape = (/** @type {unknown} */ v) => typeof v === 'string' || (v === null && p.n === 0);
    if (
      typeof p?.prompt !== 'string' ||
      !Number.isInteger(p.n) ||
      !shape(p.colour) ||
      !shape(p.kind) ||
      typeof p.answer !== 'string' ||
      typeof p.intent !== 'string'
    )
      throw bad(`prompts[${i}] is not {prompt, n, colour, kind, intent, answer}`);
    if (!keys.has(p.column)) throw bad(`prompts[${i}].column ${JSON.stringify(p.column)} is not one of columns`);
    if (p.image !== undefined) {
      const s = p.strength;
      if (typeof p.image !== 'string' || typeof s !== 'number' || !(s > 0 && s <= 1))
        throw bad(`prompts[${i}] is an edit task without {image, strength} (strength above 0 and at most 1)`);
    }
  });
  const rows = o.pytorch?.rows;
  const covers = (/** @type {unknown} */ xs) => Array.isArray(xs) && xs.length === o.prompts.length;
  if (!covers(rows?.[PT2_NO_COT]?.image)) throw bad(`pytorch.rows["${PT2_NO_COT}"].image does not cover every prompt`);
  for (const k of ['image', 'format', 'answer']) {
    if (!covers(rows?.[PT_COT]?.[k])) throw bad(`pytorch.rows["${PT_COT}"].${k} does not cover every prompt`);
  }
  return o;
}

/**
 * One list of prompts, in the set's order, each tagged with its column and its PyTorch verdicts, for either version
 * (version 1: the column is the list, arithmetic or mixing).
 * @param {EvalSet} set @returns {{ columns: EvalColumn[], items: EvalItem[], ptNoCot: string }}
 */
export function evalItems(set) {
  if (set.version === 1) {
    const pt = set.pytorch.rows;
    /** @type {EvalItem[]} */
    const items = [];
    for (const [list, key] of /** @type {const} */ ([
      ['arithmetic', 'arith'],
      ['mixing', 'mix'],
    ])) {
      for (const [i, p] of set[list].entries()) {
        const f = pt[PT_COT].format?.[(list === 'arithmetic' ? 0 : set.arithmetic.length) + i];
        items.push({
          column: list,
          index: i,
          prompt: p.prompt,
          n: p.n,
          colour: p.colour,
          kind: p.kind,
          template: p.template,
          answer: null,
          outOfWorld: false,
          image: null,
          strength: null,
          pytorch: {
            noCot: pt[PT_NO_COT][key][i] === 1,
            cot: pt[PT_COT][key][i] === 1,
            format: f === undefined ? null : f === 1,
          },
        });
      }
    }
    return { columns: V1_COLUMNS, items, ptNoCot: PT_NO_COT };
  }
  const [nc, c] = [set.pytorch.rows[PT2_NO_COT], set.pytorch.rows[PT_COT]];
  /** @type {Record<string, number>} */
  const seen = {};
  const items = set.prompts.map((p, k) => {
    const index = (seen[p.column] = (seen[p.column] ?? -1) + 1);
    return {
      column: p.column,
      index,
      prompt: p.prompt,
      n: p.n,
      colour: p.colour,
      kind: p.kind,
      template: p.template,
      answer: p.answer,
      outOfWorld: p.intent === 'oow',
      image: p.image ?? null,
      strength: p.strength ?? null,
      pytorch: {
        noCot: nc.image[k] === 1,
        cot: c.image[k] === 1,
        format: c.format?.[k] === 1,
        answer: c.answer?.[k] === 1,
      },
    };
  });
  return { columns: set.columns, items, ptNoCot: PT2_NO_COT };
}

/**
 * eval_v2.py's answer_of: the text inside the first <answer>…</answer>, trimmed; null without a closed answer.
 * @param {string} text
 */
export function answerOf(text) {
  const m = /<answer>([\s\S]*?)<\/answer>/.exec(text);
  return m ? m[1].trim() : null;
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
 * @typedef {{ ok: number, total: number }} Rate
 * @typedef {{ browser: Rate, pytorch: Rate }} Cell
 * @typedef {Record<string, Cell> & { agree: Rate }} Row  one cell per column key (version 1: arithmetic, mixing)
 */

/**
 * The figures of the table, from the per-prompt results: browser and PyTorch per row and column (a prompt's column
 * is its `list`), and how many prompts the two agree on. The answer row only when the PyTorch side has answers
 * (version 2).
 * @param {PromptResult[]} prompts
 * @param {{ browser: [number, number], pytorch: [number, number] }} understanding
 * @param {EvalColumn[]} [columns]
 */
export function figures(prompts, understanding, columns = V1_COLUMNS) {
  /** @param {PromptResult[]} ps @param {(p: PromptResult) => boolean} f @returns {Rate} */
  const rate = (ps, f) => ({ ok: count(ps.map(f)), total: ps.length });
  /** @param {(p: PromptResult) => boolean} b @param {(p: PromptResult) => boolean} t @returns {Row} */
  const row = (b, t) =>
    /** @type {Row} */ ({
      ...Object.fromEntries(
        columns.map(({ key }) => {
          const ps = prompts.filter((p) => p.list === key);
          return [key, { browser: rate(ps, b), pytorch: rate(ps, t) }];
        }),
      ),
      agree: { ok: count(prompts.map((p) => b(p) === t(p))), total: prompts.length },
    });
  const answers = prompts.length > 0 && prompts.every((p) => p.pytorch.answer !== undefined);
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
    ...(answers
      ? {
          answer: row(
            (p) => p.cot.answerOk === true,
            (p) => p.pytorch.answer === true,
          ),
        }
      : {}),
    understanding: {
      browser: { ok: understanding.browser[0], total: understanding.browser[1] },
      pytorch: { ok: understanding.pytorch[0], total: understanding.pytorch[1] },
    },
  };
}

/** The table's header for these columns. @param {EvalColumn[]} columns */
export function tableHeader(columns) {
  return (
    '| |' +
    columns.map((c) => ` ${c.label}: browser | ${c.label}: PyTorch |`).join('') +
    ' prompts where browser and PyTorch agree |'
  );
}
export const TABLE_HEADER = tableHeader(V1_COLUMNS);
export const ROW_LABELS = {
  noCot: 'no CoT (prompt prefill only)',
  cot: 'CoT (this pack)',
  format: 'format-match rate (CoT generations)',
  answer: "answer accuracy (CoT: the <answer> is the target's)",
  understanding: 'understanding accuracy (questions about held-out images)',
};

/**
 * The markdown table (one) and the notes printed under it.
 * @param {ReturnType<typeof figures>} f
 * @param {{
 *   understandingImages: number, understandingImagesAll: number, subset: boolean,
 *   steps?: { used: number, set: number }, columns?: EvalColumn[], ptNoCot?: string
 * }} info
 */
export function renderTable(f, info) {
  const columns = info.columns ?? V1_COLUMNS;
  /** @param {{ ok: number, total: number }} x */
  const c = (x) => pct(x.ok, x.total);
  /** @param {{ ok: number, total: number }} x */
  const n = (x) => `${x.ok}/${x.total}`;
  /** @param {string} label @param {Row} r */
  const line = (label, r) =>
    `| ${label} |` +
    columns.map(({ key }) => ` ${c(r[key].browser)} | ${c(r[key].pytorch)} |`).join('') +
    ` ${n(r.agree)} |`;
  const table = [
    tableHeader(columns),
    '|---'.repeat(2 * columns.length + 2) + '|',
    line(ROW_LABELS.noCot, f.noCot),
    line(ROW_LABELS.cot, f.cot),
    line(ROW_LABELS.format, f.format),
    ...(f.answer ? [line(ROW_LABELS.answer, f.answer)] : []),
    `| ${ROW_LABELS.understanding} | ${c(f.understanding.browser)} | ${c(f.understanding.pytorch)} |` +
      ' |'.repeat(2 * columns.length - 2) +
      ' — |',
  ].join('\n');
  const notes = [
    `PyTorch columns: the rows "${info.ptNoCot ?? PT_NO_COT}" and "${PT_COT}" of eval/set.json on the same prompts ` +
      `(this pack is the RGPO checkpoint). The "${PT_SFT}" row needs the SFT checkpoint and is not reproduced here.`,
    `Understanding: the browser answered the questions about ${info.understandingImages} of ` +
      `${info.understandingImagesAll} images; PyTorch's figure covers all ${info.understandingImagesAll} ` +
      'and keeps totals only, so no per-question agreement.',
  ];
  if (f.answer)
    notes.push(
      "Out of world: right with CoT only when nothing is painted and the <answer> is the set's (eval_v2.py). " +
        'eval_v2\'s "format, train" column and its cascade row are not reproduced here.',
    );
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
  const { columns, items: all, ptNoCot } = evalItems(set);
  // --n: the first N of each column (version 1: of each list)
  const items = all.filter((it) => n === undefined || it.index < n);
  const total = items.length;
  const images = firstN(set.understanding, n);
  const sizes = columns.map((c) => `${all.filter((it) => it.column === c.key).length} ${c.label}`).join(', ');
  log(
    (set.version === 1
      ? `eval/set.json: ${set.arithmetic.length} arithmetic, ${set.mixing.length} colour-mixing prompts, `
      : `eval/set.json (world ${set.world}, ${set.split} split): ${sizes} prompts, `) +
      `${set.understanding.length} understanding images; running ${total} prompts × (no CoT, CoT) and ` +
      `${images.reduce((a, u) => a + u.questions.length, 0)} questions ` +
      `(seed ${s.seed}, ${steps} steps, guidance ${s.guidance})`,
  );

  /** @param {EvalItem} p @param {boolean} cot @param {string} name */
  const paint = async (p, cot, name) => {
    const settings = {
      pack: pack.id,
      cot,
      seed: s.seed,
      steps,
      guidance: s.guidance,
      maxNewTokens: cot ? s.max_new_tokens : 1,
      previewEvery: 0,
    };
    let r;
    if (p.image !== null) {
      // an edit task: the pack's picture and the instruction through Edit, at the set's strength
      const png = await call('packFile', pack.id, p.image);
      if (png === null)
        throw new Error(`pack ${pack.id}: ${EVAL_FILE} names ${p.image}, which the manifest does not list`);
      const req = { ...settings, instruction: p.prompt, strength: p.strength };
      r = await run((runId) => call('edit', { ...req, runId }, png, 'image/png'));
    } else {
      r = await run((runId) => call('imagine', { ...settings, runId, prompt: p.prompt }));
    }
    // n = 0 (out of world included): right when no shape is seen, whatever the colour and kind
    const check = await call('checkShapes', r.pngBase64, { n: p.n, colour: p.colour, kind: p.kind });
    let image = null;
    if (write) {
      image = `images/${name}.png`;
      write(image, Buffer.from(r.pngBase64, 'base64'));
    }
    /** @type {ImageRun} */
    const out = {
      ok: check.match,
      counts: check.counts,
      text: r.text,
      answer: r.answer,
      formatOk: r.formatOk === true,
      image,
    };
    if (p.answer !== null && cot) {
      out.answerOk = answerOf(r.text) === p.answer;
      if (p.outOfWorld) out.ok = out.ok && out.answerOk;
    }
    return out;
  };
  const mark = (/** @type {boolean} */ b) => (b ? 'ok' : '—');
  const seen = (/** @type {Record<string, number>} */ c) =>
    Object.entries(c)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'nothing';
  const target = (/** @type {EvalItem} */ p) => (p.outOfWorld ? 'out of world' : `${p.n} ${p.colour} ${p.kind}`);

  /** @type {PromptResult[]} */
  const prompts = [];
  let done = 0;
  for (const it of items) {
    const name = `${it.column}-${String(it.index + 1).padStart(3, '0')}`;
    const noCot = await paint(it, false, `${name}-no-cot`);
    const cot = await paint(it, true, `${name}-cot`);
    prompts.push({
      list: it.column,
      index: it.index,
      prompt: it.prompt,
      n: it.n,
      colour: it.colour,
      kind: it.kind,
      template: it.template,
      noCot,
      cot,
      pytorch: it.pytorch,
    });
    done++;
    log(
      `[${done}/${total}] ${it.column} ${JSON.stringify(it.prompt)} → ${target(it)}: ` +
        `no CoT ${mark(noCot.ok)} (${seen(noCot.counts)}), ` +
        `CoT ${mark(cot.ok)} (${seen(cot.counts)}; answer ${JSON.stringify(cot.answer)})`,
    );
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
  const f = figures(prompts, understanding, columns);
  const subset = items.length < all.length || images.length < set.understanding.length;
  const { table, notes } = renderTable(f, {
    understandingImages: images.length,
    understandingImagesAll: set.understanding.length,
    subset,
    steps: { used: steps, set: s.steps },
    columns,
    ptNoCot,
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
      ...Object.fromEntries(columns.map((c) => [c.key, prompts.filter((p) => p.list === c.key).length])),
      understandingImages: images.length,
      understandingQuestions: questions.length,
    },
    columns,
    pytorchRows: { noCot: ptNoCot, cot: PT_COT, notReproduced: PT_SFT },
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
