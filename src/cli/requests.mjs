// @ts-check
// @file The request fields and result records the `rg` commands share (src/cli/commands/*.mjs): the settings of a
// run turned into an Imagine / Edit / RGPO request, --system placed on the right system prompt, and the
// result.json record of a painted image.
import { jsonFile, jsonLine, packRecord } from './session.mjs';

/**
 * @typedef {import('./args.mjs').Settings} Settings
 * @typedef {import('./page.ts').CliImagineResult} CliImagineResult
 * @typedef {import('./session.mjs').Session} Session
 */

/** --system replaces the system prompt of the chosen mode (CoT or plain). @param {Settings} s */
export function promptsFor(s) {
  if (s.system === undefined) return undefined;
  // With CoT off the plain prompt is replaced; the unconditional (negative) branch uses the plain prompt too.
  if (s.cot === false) return { systemPlain: s.system };
  return { systemCot: s.system, ...(s.cot === undefined ? { systemPlain: s.system } : {}) };
}

/** The settings keys a paint request takes as they are. */
const PAINT_KEYS = /** @type {const} */ ([
  'seed',
  'steps',
  'guidance',
  'width',
  'height',
  'maxNewTokens',
  'weights',
  'reasonerWeights',
  'strength',
  'cascade',
]);

/**
 * The request fields shared by Imagine, Edit and RGPO (the run id is set per run).
 * @param {Settings} s @param {string} pack
 */
export function paintRequest(s, pack) {
  /** @type {Record<string, unknown>} */
  const r = { runId: '', pack, previewEvery: 0 };
  if (s.cot !== undefined) r.cot = s.cot;
  if (s.system !== undefined) r.prompts = promptsFor(s);
  for (const k of PAINT_KEYS) {
    if (s[k] !== undefined) r[k] = s[k];
  }
  return r;
}

/**
 * The record written as result.json for Imagine / Edit.
 * @param {Record<string, unknown>} inputs what was asked (mode first) @param {CliImagineResult} r @param {Session} s
 */
export function paintRecord(inputs, r, s) {
  return {
    format: 'rg-cli-result',
    version: 1,
    mode: inputs.mode,
    ...inputs,
    settings: r.settings,
    reasoning: r.reasoning,
    answer: r.answer,
    formatMatched: r.formatOk,
    text: r.text,
    stopReason: r.stopReason,
    // Cascade thinking: the text sent back and the second pass's completion (null when off).
    cascade: r.cascade ?? null,
    // The pack's refusal (null when it painted a result): image.png is then the painter's picture of a refusal.
    refusal: r.refusal ?? null,
    // A cascade pack: the text its painter read (null in a pack whose painter reads the reasoner's hidden states).
    painterText: r.painterText ?? null,
    timings: r.timings,
    pack: packRecord(s.pack, r.pack),
    backend: r.backend,
    engine: r.engine,
    width: r.width,
    height: r.height,
    conditionRows: r.conditionRows,
    negativeRows: r.negativeRows,
    device: s.device,
    image: 'image.png',
    createdAt: new Date().toISOString(),
  };
}

/**
 * Writes a painted image and its record into `dir` (`''` = the --out folder itself).
 * @param {Session} s @param {string} dir @param {Record<string, unknown>} inputs @param {CliImagineResult} r
 */
export function writePaint(s, dir, inputs, r) {
  s.write(`${dir}image.png`, Buffer.from(r.pngBase64, 'base64'));
  s.write(`${dir}result.json`, jsonFile(paintRecord(inputs, r, s)));
}

/** Image bytes as the page bridge takes them. @param {{ bytes: Uint8Array }} image */
export const base64Of = (image) => Buffer.from(image.bytes).toString('base64');

/** The stdout line of generate and edit. @param {string} out @param {CliImagineResult} r */
export function paintLine(out, r) {
  const totalMs = Math.round(r.timings.totalMs);
  const { answer, formatOk: formatMatched } = r;
  // a declined request says so; other lines are unchanged
  const declined = r.refusal ? { refusal: r.refusal } : {};
  return jsonLine({
    out,
    image: `${out}/image.png`,
    answer,
    formatMatched,
    ...declined,
    seed: r.settings.seed,
    totalMs,
  });
}
