/**
 * @file The paint pipeline Imagine, Edit and RGPO share: the painting settings resolved against the pack's defaults
 * and limits (checked on the CPU first: BAD_INPUT with the field and the allowed range, before any GPU work), then
 * the reasoner (its hidden states are the condition) → the negative (CFG) condition → the painter → PNG with the
 * prompt, seed and settings in tEXt chunks. The negative condition is the reasoner's prefill of the pack's negative
 * prompt, cached per negative prompt, pack, backend and model (src/models/cache.ts). A `cascade` pack's painter reads
 * text instead (docs/cascade.md): the answer, and the negative prompt, each through its own tokenizer and embeddings.
 */
import { CancelledError, RgError, badInput } from '../errors';
import type { Manifest, WeightVariant } from '../packs/manifest';
import { resolvePackDefaults } from '../packs/defaults';
import type { PackSource } from '../packs/source';
import type { Backend } from '../runtime/ort';
import { DeviceCache } from '../models/cache';
import {
  imagineMessages,
  loadReasonerText,
  prefill,
  preparePrompt,
  resolveSampling,
  negativeMessages,
  type Completion,
  type HiddenStates,
  type PreparedPrompt,
  type ReasonerModel,
} from '../models/reasoner';
import { getPainter, type Condition, type PainterKind, type PaintOptions } from '../models/painter';
import { MAX_GUIDANCE, MAX_SEED } from '../limits';
import type { RgEvent } from './events';
import { encodePng } from './png';
import {
  completionOf,
  emitDone,
  loadReasoner,
  reason,
  runPlanChoice,
  resolveReasonerWeights,
  type PipelineDeps,
  type ReasonRequest,
} from './reason';
import { cascadeText, type CascadeResult } from './cascade';
import { refusalOf } from './refusal';

/** The settings Imagine, Edit and RGPO share (the seed drives the painter's noise and the reasoner's sampling). */
export interface PaintRequestBase extends ReasonRequest {
  /** The unconditional branch's prompt; default: the pack's `prompts.negative_prompt`. */
  negativePrompt?: string;
  /** Image size in pixels; default the pack's; a multiple of `limits.size_multiple` within its min and max. */
  width?: number;
  height?: number;
  steps?: number;
  guidance?: number;
  /** A `preview` event every this many steps (0: none). Default: about 10 previews per run. */
  previewEvery?: number;
  /** Painter weights variant (default f32). */
  weights?: WeightVariant;
  /**
   * Cascade thinking (MindOmni's `cascade_thinking`, see cascade.ts): the first pass's answer goes through the
   * reasoner again and the second pass's hidden states condition the painter. Needs chain of thought. Default off.
   */
  cascade?: boolean;
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
  /** The reasoner engine's weight format (resolveReasonerWeights). */
  reasonerWeights: WeightVariant;
  previewEvery: number;
  /** Cascade thinking on (only with `cot`). */
  cascade: boolean;
  /** Edit only. */
  strength?: number;
}

export interface PaintTimingsReport {
  /** Reasoner: prefill + decode of the request. */
  reasonMs: number;
  /** Cascade thinking's second pass (0 when cascade is off). */
  cascadeMs: number;
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

/** The result of one painted image (Imagine's and Edit's). */
export interface PaintRunResult extends Completion {
  runId: string;
  pack: string;
  backend: Backend;
  engine: PainterKind;
  /** PNG bytes with tEXt chunks (prompt, seed, settings). */
  png: Uint8Array;
  width: number;
  height: number;
  settings: PaintSettings;
  /** Rows of the condition that painted (the second pass's when cascade thinking ran). */
  conditionRows: number;
  /**
   * A `cascade` pack: the text its painter read (the last pass's answer, else its thinking, else its text, else the
   * user's words), before the painter's template wraps it; null in a `mindomni` pack (the hidden states painted).
   */
  painterText: string | null;
  negativeRows: number;
  /** Cascade thinking: what was sent back and the second pass's text; null when cascade is off. The completion
   * fields above stay the FIRST pass's (the reasoning of the user's own prompt). */
  cascade: CascadeResult | null;
  /**
   * The answer when it is the pack's refusal (manifest `refusal`; refusal.ts), else null. The picture is then what
   * the painter makes of a refusal, not a result: show this text instead.
   */
  refusal: string | null;
  timings: PaintTimingsReport;
}

export interface PaintDeps extends PipelineDeps {
  /** Which painter engine (default: ours on WebGPU, the ONNX reference on WASM). */
  painter?: PainterKind;
}

function numberIn(
  field: string,
  v: unknown,
  lo: number,
  hi: number,
  opts: { integer?: boolean; loOpen?: boolean } = {},
): number {
  const kind = opts.integer ? 'a whole number' : 'a number';
  const range = `${opts.loOpen ? 'above' : 'from'} ${lo} ${opts.loOpen ? 'and at most' : 'to'} ${hi}`;
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    (opts.integer && !Number.isInteger(v)) ||
    v > hi ||
    (opts.loOpen ? v <= lo : v < lo)
  ) {
    throw badInput(field, `${field} must be ${kind} ${range}, got ${String(v)}`);
  }
  return v;
}

/** Resolves the painting settings against the pack's defaults and limits; BAD_INPUT naming the field and range. */
export function resolvePaintSettings(
  m: Manifest,
  req: PaintRequestBase & { strength?: number },
  edit: boolean,
): PaintSettings {
  const { defaults: d, limits: lim } = resolvePackDefaults(m);
  const size = (field: 'width' | 'height', v: number | undefined, dflt: number) => {
    const n = numberIn(field, v ?? dflt, lim.minSize, lim.maxSize, { integer: true });
    if (n % lim.sizeMultiple !== 0) {
      throw badInput(
        field,
        `${field} must be a multiple of ${lim.sizeMultiple} from ${lim.minSize} to ${lim.maxSize}, got ${n}`,
      );
    }
    return n;
  };
  const width = size('width', req.width, d.width);
  const height = size('height', req.height, d.height);
  const steps = numberIn('steps', req.steps ?? d.steps, 1, lim.maxSteps, { integer: true });
  const guidance = numberIn('guidance', req.guidance ?? d.guidance, 0, MAX_GUIDANCE);
  const seed = numberIn('seed', req.seed ?? d.seed, 0, MAX_SEED, { integer: true });
  const maxNewTokens = numberIn('maxNewTokens', req.maxNewTokens ?? d.maxNewTokens, 1, lim.maxNewTokens, {
    integer: true,
  });
  const previewEvery = numberIn(
    'previewEvery',
    req.previewEvery ?? Math.max(1, Math.ceil(steps / 10)),
    0,
    lim.maxSteps,
    {
      integer: true,
    },
  );
  // Default: the f32 file, or the pack's only (first) variant (a converted pack ships one, e.g. int4).
  const shipped = Object.keys(m.paths.painter_weights) as WeightVariant[];
  const weights = req.weights ?? (m.paths.painter_weights.f32 || shipped.length === 0 ? 'f32' : shipped[0]!);
  if (typeof weights !== 'string' || !Object.hasOwn(m.paths.painter_weights, weights)) {
    throw badInput(
      'weights',
      `weights must be one of ${Object.keys(m.paths.painter_weights).join(', ')}, got ${String(weights)}`,
    );
  }
  const reasonerWeights = resolveReasonerWeights(req, m);
  const negativePrompt = req.negativePrompt ?? d.negativePrompt;
  if (typeof negativePrompt !== 'string') throw badInput('negativePrompt', 'the negative prompt must be text');
  if (req.cot !== undefined && typeof req.cot !== 'boolean') throw badInput('cot', 'cot must be true or false');
  const cot = req.cot ?? d.cot;
  if (req.cascade !== undefined && typeof req.cascade !== 'boolean')
    throw badInput('cascade', 'cascade must be true or false');
  const cascade = req.cascade ?? false;
  if (cascade && !cot) {
    throw new RgError(
      'BAD_INPUT',
      'cascade thinking sends the first pass’s answer back through the reasoner with ' +
        'chain of thought, so it needs chain of thought',
      {
        field: 'cascade',
        hint: 'Turn chain of thought on, or cascade thinking off.',
      },
    );
  }
  const s: PaintSettings = {
    width,
    height,
    steps,
    guidance,
    seed,
    cot,
    maxNewTokens,
    negativePrompt,
    weights,
    reasonerWeights,
    previewEvery,
    cascade,
  };
  if (edit) s.strength = numberIn('strength', req.strength ?? d.editStrength, 0, 1, { loOpen: true });
  return s;
}

// ------------------------------------------------------------------------------------------------ negative cache
const negatives = new DeviceCache<HiddenStates>(4);

/** The negative condition for `prompt` on `model`: its prefill, computed once and kept (a small LRU per model). */
async function negativeCondition(
  model: ReasonerModel,
  key: string,
  prompt: PreparedPrompt,
  signal?: AbortSignal,
): Promise<{ hidden: HiddenStates; cached: boolean }> {
  const scope = { device: model.device, owner: model };
  const load = () => prefill(model, prompt, null, signal);
  const cached = negatives.has(key, scope);
  const hidden = await negatives.get(key, scope, load);
  if (!hidden.disposed) return { hidden, cached };
  negatives.delete(key, false);
  return { hidden: await negatives.get(key, scope, load), cached: false };
}

/** Frees every cached negative condition (tests, pack switch). */
export function releaseNegativeConditions(): Promise<void> {
  return negatives.release();
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
  deps: PaintDeps,
  source: PackSource,
  emit: (e: RgEvent) => void,
  extraText: Record<string, string>,
): Promise<PaintRunResult> {
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
    messages: negativeMessages(s.negativePrompt, text.manifest.prompts.negative_instruction_prefix, req.prompts),
    chatTemplate: req.chatTemplate,
    images: 0,
    promptField: 'negativePrompt',
    userText: s.negativePrompt,
  });
  if (deps.signal?.aborted) throw new CancelledError('Cancelled before it started');

  const plan = runPlanChoice(
    text.config.max_position_embeddings,
    prompt.ids.length,
    s.maxNewTokens,
    { painterPrecision: s.weights, width: s.width, height: s.height, steps: s.steps },
    s.reasonerWeights,
  );
  const { choice, model } = await loadReasoner(source, deps, emit, plan);
  const painter = await getPainter(source, choice, { kind: deps.painter, weights: s.weights });
  // A cascade pack's painter reads text (its own embeddings of the answer), not the reasoner's hidden states.
  const byText = painter.text !== null;
  const res = await reason(
    model,
    prompt,
    input.image?.pixelValues ?? null,
    { cot: s.cot, maxNewTokens: s.maxNewTokens, sampling, hiddenStates: !byText, signal: deps.signal },
    emit,
  );
  let positive: (Condition & { dispose(): void }) | null = res.hidden;
  if (!positive && !byText) throw new RgError('INTERNAL', 'the reasoner returned no hidden states');
  let painterText: string | null = null;
  // the first pass's answer: the reasoning of the user's own request (cascade's second pass does not change it)
  const refusal = refusalOf(await source.manifest(), res.answer);
  let cascade: CascadeResult | null = null;
  let cascadeMs = 0;
  try {
    if (s.cascade) {
      // MindOmni's cascade_thinking: the first pass's answer (else its thinking) is a new request with chain of
      // thought, the same image and sampling; the second pass's hidden states replace the first's as the condition.
      const sent = cascadeText(res.text);
      cascade = { prompt: sent.text, source: sent.source, second: null };
      if (sent.text.length > 0) {
        const second = preparePrompt(text, {
          messages: imagineMessages({ prompt: sent.text, cot: true, image: !!input.image, prompts: req.prompts }),
          chatTemplate: req.chatTemplate,
          images: input.image ? 1 : 0,
          promptField: 'cascade',
          userText: sent.text,
        });
        const r2 = await reason(
          model,
          second,
          input.image?.pixelValues ?? null,
          {
            cot: true,
            maxNewTokens: s.maxNewTokens,
            sampling,
            hiddenStates: !byText,
            signal: deps.signal,
            detail: 'cascade',
          },
          emit,
        );
        if (!r2.hidden && !byText) throw new RgError('INTERNAL', 'the reasoner returned no hidden states');
        positive?.dispose();
        positive = r2.hidden;
        cascade.second = completionOf(r2);
        cascadeMs = r2.timings.totalMs;
      }
    }
    if (byText) {
      // The text the last pass settled on (its answer, else its thinking, else its whole text); the user's own
      // words when the reasoner wrote nothing.
      const last = cascade?.second?.text ?? res.text;
      painterText = cascadeText(last).text || input.text;
      positive = painter.textCondition(painterText);
    }
    if (!positive) throw new RgError('INTERNAL', 'the painter has no condition');
    const tNeg = performance.now();
    let neg: { hidden: Condition; cached: boolean };
    if (byText) {
      const n = painter.negativeTextCondition(s.negativePrompt);
      neg = { hidden: n.condition, cached: n.cached };
    } else {
      negatives.retainPrefix(`${source.id}\u0000`); // conditions of packs no longer selected
      const negKey = [source.id, choice.backend, req.chatTemplate ?? '', negPrompt.ids.join(',')].join('\u0000');
      neg = await negativeCondition(model, negKey, negPrompt, deps.signal);
    }
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
      ...(refusal !== null ? { refusal } : {}),
      ...(painterText !== null ? { painter_text: painterText } : {}),
      ...(cascade
        ? {
            cascade_prompt: cascade.prompt,
            cascade_reasoning: cascade.second?.reasoning ?? '',
            cascade_answer: cascade.second?.answer ?? '',
          }
        : {}),
      Software: 'rg-vlm-web',
    });
    const end = performance.now();
    emitDone(emit);
    return {
      runId: req.runId,
      pack: source.id,
      backend: choice.backend,
      engine: painter.kind,
      png,
      width: img.width,
      height: img.height,
      settings: s,
      ...completionOf(res),
      conditionRows: positive.rows,
      negativeRows: neg.hidden.rows,
      painterText,
      cascade,
      refusal,
      timings: {
        reasonMs: res.timings.totalMs,
        cascadeMs,
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
    positive?.dispose();
  }
}
