/**
 * @file Imagine (reasoning generation): prompt → reasoner thinks (CoT on or off) → its hidden states condition the
 * painter → VAE → PNG with the prompt, seed and settings in tEXt chunks. Orchestration only: every input is checked
 * on the CPU first (BAD_INPUT with the field and the allowed range, before any GPU work), then the shared reasoner
 * and painter run. The negative (CFG) condition is the prefill of the pack's negative prompt, cached per negative
 * prompt, pack, backend and device. Edit (edit.ts) shares everything here except its image input.
 */
import { CancelledError, RgError, badInput, toErrorInfo } from '../errors';
import type { Manifest, WeightVariant } from '../packs/manifest';
import type { PackSource } from '../packs/source';
import type { BackendChoice } from '../runtime/backend';
import type { Backend } from '../runtime/ort';
import type { EventSink, RgEvent } from './events';
import {
  generate,
  getReasoner,
  imagineMessages,
  loadReasonerText,
  preparePrompt,
  resolveSampling,
  understandMessages,
  type HiddenStates,
  type PreparedPrompt,
  type PromptOverrides,
  type ReasonerModel,
  type StopReason,
} from '../models/reasoner';
import { getPainter, type PainterKind, type PaintOptions } from '../models/painter';
import { encodePng } from './png';
import { safeSink } from './events';

/** Largest guidance scale accepted (same bound as the studio's form). */
import { MAX_GUIDANCE, MAX_SEED } from '../limits';
export { MAX_GUIDANCE, MAX_SEED };

export interface PaintRequestBase {
  /** Chosen by the caller, so `cancel(runId)` can reach the run. */
  runId: string;
  pack: string;
  /** Chain of thought; default: the pack's `defaults.cot`. */
  cot?: boolean;
  /** The unconditional branch's prompt; default: the pack's `prompts.negative_prompt`. */
  negativePrompt?: string;
  prompts?: PromptOverrides;
  chatTemplate?: string;
  maxNewTokens?: number;
  /** Reasoner sampling (0 = greedy, the default). */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Image size in pixels; default the pack's; a multiple of `limits.size_multiple` within its min and max. */
  width?: number;
  height?: number;
  steps?: number;
  guidance?: number;
  seed?: number;
  /** A `preview` event every this many steps (0: none). Default: about 10 previews per run. */
  previewEvery?: number;
  /** Painter weights variant (default f32). */
  weights?: WeightVariant;
}

export interface ImagineRequest extends PaintRequestBase {
  prompt: string;
}

export interface PaintSettings {
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed: number;
  cot: boolean;
  maxNewTokens: number;
  negativePrompt: string;
  weights: WeightVariant;
  previewEvery: number;
  /** Edit only. */
  strength?: number;
}

export interface PaintTimingsReport {
  /** Reasoner: prefill + decode of the request. */
  reasonMs: number;
  /** The negative condition (0 when it came from the cache). */
  negativeMs: number;
  /** Edit: image decode + VAE encoder input; Imagine 0. */
  imageMs: number;
  painterPrepareMs: number;
  stepsMs: number;
  vaeMs: number;
  pngMs: number;
  totalMs: number;
}

export interface ImagineResult {
  runId: string;
  pack: string;
  backend: Backend;
  engine: PainterKind;
  /** PNG bytes with tEXt chunks (prompt, seed, settings). */
  png: Uint8Array;
  width: number;
  height: number;
  settings: PaintSettings;
  /** The completion with its tags. */
  text: string;
  reasoning: string;
  answer: string;
  formatOk: boolean;
  stopReason: StopReason;
  conditionRows: number;
  negativeRows: number;
  timings: PaintTimingsReport;
}

export interface ImagineDeps {
  source: PackSource | (() => PackSource);
  choice: BackendChoice | (() => Promise<BackendChoice>);
  signal?: AbortSignal;
  /** Which painter engine (default: ours on WebGPU, the ONNX reference on WASM). */
  painter?: PainterKind;
}

function numberIn(field: string, v: unknown, lo: number, hi: number, opts: { integer?: boolean; loOpen?: boolean } = {}): number {
  const kind = opts.integer ? 'a whole number' : 'a number';
  const range = `${opts.loOpen ? 'above' : 'from'} ${lo} ${opts.loOpen ? 'and at most' : 'to'} ${hi}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v)) || v > hi || (opts.loOpen ? v <= lo : v < lo)) {
    throw badInput(field, `${field} must be ${kind} ${range}, got ${String(v)}`);
  }
  return v;
}

/** Resolves the painting settings against the pack's defaults and limits; BAD_INPUT naming the field and range. */
export function resolvePaintSettings(m: Manifest, req: PaintRequestBase & { strength?: number }, edit: boolean): PaintSettings {
  const lim = m.limits;
  const d = m.defaults;
  const size = (field: 'width' | 'height', v: number | undefined, dflt: number) => {
    const n = numberIn(field, v ?? dflt, lim.min_size, lim.max_size, { integer: true });
    if (n % lim.size_multiple !== 0) throw badInput(field, `${field} must be a multiple of ${lim.size_multiple} from ${lim.min_size} to ${lim.max_size}, got ${n}`);
    return n;
  };
  const width = size('width', req.width, d.width);
  const height = size('height', req.height, d.height);
  const steps = numberIn('steps', req.steps ?? d.steps, 1, lim.max_steps, { integer: true });
  const guidance = numberIn('guidance', req.guidance ?? d.guidance, 0, MAX_GUIDANCE);
  const seed = numberIn('seed', req.seed ?? d.seed, 0, MAX_SEED, { integer: true });
  const maxNewTokens = numberIn('maxNewTokens', req.maxNewTokens ?? d.max_new_tokens, 1, m.reasoner.max_position_embeddings, { integer: true });
  const previewEvery = numberIn('previewEvery', req.previewEvery ?? Math.max(1, Math.ceil(steps / 10)), 0, lim.max_steps, { integer: true });
  const weights = req.weights ?? 'f32';
  if (typeof weights !== 'string' || !Object.hasOwn(m.paths.painter_weights, weights)) {
    throw badInput('weights', `weights must be one of ${Object.keys(m.paths.painter_weights).join(', ')}, got ${String(weights)}`);
  }
  const negativePrompt = req.negativePrompt ?? m.prompts.negative_prompt;
  if (typeof negativePrompt !== 'string') throw badInput('negativePrompt', 'the negative prompt must be text');
  if (req.cot !== undefined && typeof req.cot !== 'boolean') throw badInput('cot', 'cot must be true or false');
  const s: PaintSettings = { width, height, steps, guidance, seed, cot: req.cot ?? d.cot, maxNewTokens, negativePrompt, weights, previewEvery };
  if (edit) s.strength = numberIn('strength', req.strength ?? d.edit_strength, 0, 1, { loOpen: true });
  return s;
}

// ------------------------------------------------------------------------------------------------ negative cache
const NEGATIVE_CACHE_SIZE = 4;
const negatives = new Map<string, { model: ReasonerModel; hidden: Promise<HiddenStates> }>();

/** The negative condition for `prompt` on `model`, computed once and kept (a small LRU, per model instance). */
async function negativeCondition(model: ReasonerModel, key: string, prompt: PreparedPrompt, signal?: AbortSignal): Promise<{ hidden: HiddenStates; cached: boolean }> {
  const hit = negatives.get(key);
  if (hit && hit.model === model) {
    negatives.delete(key);
    negatives.set(key, hit);
    const h = await hit.hidden;
    if (!h.disposed) return { hidden: h, cached: true };
  }
  if (hit) void hit.hidden.then((h) => h.dispose()).catch(() => undefined);
  // Prefill only: one new token is chosen and never fed back, so the rows are exactly the prompt's.
  const hidden = generate(model, prompt, null, { maxNewTokens: 1, hiddenStates: true, signal }).then((r) => {
    if (!r.hidden) throw new RgError('INTERNAL', 'the reasoner returned no hidden states');
    return r.hidden;
  });
  negatives.set(key, { model, hidden });
  hidden.catch(() => {
    if (negatives.get(key)?.hidden === hidden) negatives.delete(key);
  });
  while (negatives.size > NEGATIVE_CACHE_SIZE) {
    const [k, v] = negatives.entries().next().value!;
    negatives.delete(k);
    void v.hidden.then((h) => h.dispose()).catch(() => undefined);
  }
  return { hidden: await hidden, cached: false };
}

/** Frees every cached negative condition (tests, pack switch). */
export async function releaseNegativeConditions(): Promise<void> {
  const all = [...negatives.values()];
  negatives.clear();
  await Promise.all(all.map((v) => v.hidden.then((h) => h.dispose()).catch(() => undefined)));
}

// ------------------------------------------------------------------------------------------------ shared run
export interface GenerationInput {
  /** The user's text (prompt or instruction) and the field errors about it are reported on. */
  text: string;
  field: string;
  /** Edit: reasoner pixel values and the VAE input builder (called after validation, before GPU work). */
  image?: { pixelValues: Float32Array; vaeInput: Float32Array; strength: number; prepMs: number };
}

/** Imagine and Edit after their own input checks: reasoner → negative condition → painter → PNG. */
export async function runPaintPipeline(
  req: PaintRequestBase,
  input: GenerationInput,
  s: PaintSettings,
  deps: ImagineDeps,
  source: PackSource,
  emit: (e: RgEvent) => void,
  extraText: Record<string, string>,
): Promise<ImagineResult> {
  const t0 = performance.now();
  const text = await loadReasonerText(source);
  const sampling = resolveSampling(req);
  const prompt = preparePrompt(text, {
    messages: imagineMessages({ prompt: input.text, cot: s.cot, image: !!input.image, prompts: req.prompts }),
    chatTemplate: req.chatTemplate,
    images: input.image ? 1 : 0,
    promptField: input.field,
    userText: input.text,
  });
  const negPrompt = preparePrompt(text, {
    messages: understandMessages({ prompt: s.negativePrompt, cot: false, prompts: req.prompts }),
    chatTemplate: req.chatTemplate,
    images: 0,
    promptField: 'negativePrompt',
    userText: s.negativePrompt,
  });
  if (deps.signal?.aborted) throw new CancelledError('Cancelled before it started');

  emit({ type: 'phase', phase: 'loading', detail: source.id });
  const choice = typeof deps.choice === 'function' ? await deps.choice() : deps.choice;
  const model = await getReasoner(source, choice);
  const painter = await getPainter(source, choice, { kind: deps.painter, weights: s.weights });
  const initial = s.cot ? 'thinking' : 'answering';
  emit({ type: 'phase', phase: initial });
  const res = await generate(model, prompt, input.image?.pixelValues ?? null, {
    maxNewTokens: s.maxNewTokens,
    ...sampling,
    hiddenStates: true,
    initialPhase: initial,
    signal: deps.signal,
    onToken: (t) => {
      if (t.text) emit({ type: 'token', text: t.text, phase: t.phase });
    },
    onPhase: (phase) => emit({ type: 'phase', phase }),
  });
  const positive = res.hidden;
  if (!positive) throw new RgError('INTERNAL', 'the reasoner returned no hidden states');
  try {
    const tNeg = performance.now();
    const negKey = [source.id, choice.backend, req.chatTemplate ?? '', negPrompt.ids.join(',')].join('\u0000');
    const neg = await negativeCondition(model, negKey, negPrompt, deps.signal);
    const negativeMs = neg.cached ? 0 : performance.now() - tNeg;

    emit({ type: 'phase', phase: 'painting', detail: painter.kind });
    const opts: PaintOptions = {
      positive,
      negative: neg.hidden,
      width: s.width,
      height: s.height,
      steps: s.steps,
      guidance: s.guidance,
      seed: s.seed,
      edit: input.image ? { image: input.image.vaeInput, strength: input.image.strength } : null,
      previewEvery: s.previewEvery,
      signal: deps.signal,
      onPreview: (f) => emit({ type: 'preview', ...f }),
      onStep: (done, total) => {
        emit({ type: 'progress', done, total, label: 'steps' });
        if (done === total) emit({ type: 'phase', phase: 'decoding' });
      },
    };
    const img = await painter.paint(opts);
    const tPng = performance.now();
    const png = encodePng(img.rgb, img.width, img.height, {
      ...extraText,
      seed: String(s.seed),
      settings: JSON.stringify({ pack: source.id, ...s, engine: painter.kind }),
      reasoning: res.reasoning,
      answer: res.answer,
      Software: 'rg-vlm-web',
    });
    const end = performance.now();
    emit({ type: 'phase', phase: 'done' });
    emit({ type: 'done' });
    return {
      runId: req.runId,
      pack: source.id,
      backend: choice.backend,
      engine: painter.kind,
      png,
      width: img.width,
      height: img.height,
      settings: s,
      text: res.text,
      reasoning: res.reasoning,
      answer: res.answer,
      formatOk: res.formatOk,
      stopReason: res.stopReason,
      conditionRows: positive.rows,
      negativeRows: neg.hidden.rows,
      timings: {
        reasonMs: res.timings.totalMs,
        negativeMs,
        imageMs: input.image?.prepMs ?? 0,
        painterPrepareMs: img.timings.prepareMs,
        stepsMs: img.timings.stepsMs,
        vaeMs: img.timings.vaeMs,
        pngMs: end - tPng,
        totalMs: end - t0,
      },
    };
  } finally {
    positive.dispose();
  }
}

/**
 * Runs Imagine. Events: `phase` loading → thinking/answering → painting → decoding → done, `token` deltas,
 * `progress` per step, `preview` frames, then `done`; on failure one `error` event and the promise rejects with the
 * same error (BAD_INPUT with its field before any GPU work, CANCELLED when `deps.signal` aborts).
 */
export async function imagine(req: ImagineRequest, onEvent: EventSink | undefined, deps: ImagineDeps): Promise<ImagineResult> {
  const emit = safeSink(onEvent);
  try {
    if (typeof req?.prompt !== 'string' || req.prompt.trim().length === 0) throw badInput('prompt', 'the prompt is empty');
    const source = typeof deps.source === 'function' ? deps.source() : deps.source;
    const s = resolvePaintSettings(await source.manifest(), req, false);
    return await runPaintPipeline(req, { text: req.prompt, field: 'prompt' }, s, deps, source, emit, { prompt: req.prompt });
  } catch (e) {
    emit({ type: 'error', error: toErrorInfo(e) });
    throw e;
  }
}
