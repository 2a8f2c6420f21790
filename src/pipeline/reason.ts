/**
 * @file What Understand and the paint pipeline (Imagine, Edit, RGPO) share around the reasoner: where the pack and
 * the backend come from, the error event every run ends with on failure, and the streamed generation step (the
 * loading phase, the shared model, `token` and `phase` events).
 */
import { badInput, toErrorInfo, type ErrorInfo } from '../errors';
import { reasonerWeightPaths, type Manifest, type WeightVariant } from '../packs/manifest';
import type { PackSource } from '../packs/source';
import type { BackendChoice } from '../runtime/backend';
import {
  generate,
  getReasoner,
  type Completion,
  type GenerationResult,
  type PreparedPrompt,
  type PromptOverrides,
  type ReasonerModel,
  type ResolvedSampling,
} from '../models/reasoner';
import type { RgEvent } from './events';
import { admitPack } from '../models/plan';
import type { PlanChoice } from '../packs/plan';

/** What every pipeline's request has: the run, the pack, and the reasoner's prompt and sampling settings. */
export interface ReasonRequest {
  /** Chosen by the caller, so `cancel(runId)` can reach the run while it streams. */
  runId: string;
  /** The pack id (see src/packs/registry.ts). */
  pack: string;
  /** Chain of thought (`<think>…</think><answer>…</answer>`); default: the pack's `defaults.cot`. */
  cot?: boolean;
  /** Per-call overrides of the system prompts and the user-turn prefix (prompts.ts has the defaults). */
  prompts?: PromptOverrides;
  /** A Jinja chat template to use instead of the pack's. */
  chatTemplate?: string;
  /** Default: the pack's `defaults.max_new_tokens`. */
  maxNewTokens?: number;
  /** Reasoner sampling: 0 (default) = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /**
   * The reasoner engine's weight format (WebGPU): the pack's file of that variant, or its f32 file converted at
   * load. Default: f32 (or the pack's only variant).
   */
  reasonerWeights?: WeightVariant;
}

/** The reasoner weight formats a request may ask for. */
export const REASONER_WEIGHTS: readonly WeightVariant[] = ['f32', 'f16', 'bf16', 'int8', 'int4'];

/**
 * The request's reasoner weight format, checked on the CPU: one of REASONER_WEIGHTS that the pack ships or can make
 * from its f32 file; default f32 (or the pack's only variant). BAD_INPUT `reasonerWeights` otherwise.
 */
export function resolveReasonerWeights(req: Pick<ReasonRequest, 'reasonerWeights'>, m: Manifest): WeightVariant {
  const files = reasonerWeightPaths(m.paths);
  const shipped = Object.keys(files) as WeightVariant[];
  const v = req.reasonerWeights;
  if (v === undefined) return files.f32 || shipped.length === 0 ? 'f32' : shipped[0]!;
  if (typeof v !== 'string' || !REASONER_WEIGHTS.includes(v))
    throw badInput(
      'reasonerWeights',
      `reasonerWeights must be one of ${REASONER_WEIGHTS.join(', ')}, got ${String(v)}`,
    );
  if (shipped.length === 0 && v !== 'f32')
    throw badInput('reasonerWeights', `pack ${m.id} has no reasoner engine weights (its reasoner runs ONNX in f32)`);
  if (shipped.length > 0 && !files[v] && !files.f32)
    throw badInput(
      'reasonerWeights',
      `pack ${m.id} has no ${v} reasoner weights and no f32 file to make them from (it has: ${shipped.join(', ')})`,
    );
  return v;
}

/** What every pipeline takes besides its request and event sink. */
export interface PipelineDeps {
  /** Where the pack's files come from (the worker passes the cached IndexedDB source), or how to get it. */
  source: PackSource | (() => PackSource);
  /** The backend (WebGPU with the shared device, or WASM), or how to choose it (after the input checks). */
  choice: BackendChoice | (() => Promise<BackendChoice>);
  signal?: AbortSignal;
}

/** The pack source of `deps` (called at most once per run). */
export function packSource(deps: PipelineDeps): PackSource {
  return typeof deps.source === 'function' ? deps.source() : deps.source;
}

/** The backend of `deps` (chosen only when a run gets past its input checks). */
export async function backendChoice(deps: PipelineDeps): Promise<BackendChoice> {
  return typeof deps.choice === 'function' ? await deps.choice() : deps.choice;
}

/**
 * Runs `body`; when it throws, emits one `error` event with the error's info and rethrows it (every pipeline's
 * failure contract).
 */
export async function reportingErrors<T>(
  emit: (e: { type: 'error'; error: ErrorInfo }) => void,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (e) {
    emit({ type: 'error', error: toErrorInfo(e) });
    throw e;
  }
}

/**
 * The memory plan's choice of a run: its context (prompt + new tokens, within max positions), the prompt prefilled
 * at once, the reasoner's weight format, and for the painter its weights and size (src/packs/plan.ts).
 */
export function runPlanChoice(
  maxPositions: number,
  promptTokens: number,
  maxNewTokens: number,
  painter?: Pick<PlanChoice, 'painterPrecision' | 'width' | 'height' | 'steps'>,
  reasonerPrecision?: WeightVariant,
): PlanChoice {
  const context = Math.max(1, Math.min(maxPositions, promptTokens + maxNewTokens));
  const c: PlanChoice = { context, prefillRows: Math.min(promptTokens, context), painter: !!painter, ...painter };
  if (reasonerPrecision) c.reasonerPrecision = reasonerPrecision;
  return c;
}

/**
 * The shared reasoner of `source` on the chosen backend, after a `loading` phase event. On WebGPU the pack's memory
 * plan at `plan` is checked first (MEMORY_PLAN / UNSUPPORTED_PACK before any weight is read or allocated); the
 * engine's weights are loaded in `plan.reasonerPrecision` (default: the pack's f32 file or only variant).
 */
export async function loadReasoner(
  source: PackSource,
  deps: PipelineDeps,
  emit: (e: RgEvent) => void,
  plan: PlanChoice = {},
): Promise<{ choice: BackendChoice; model: ReasonerModel }> {
  emit({ type: 'phase', phase: 'loading', detail: source.id });
  const choice = await backendChoice(deps);
  if (choice.device) await admitPack(await source.manifest(), plan);
  const weights = plan.reasonerPrecision;
  return { choice, model: await getReasoner(source, choice, weights ? { weights } : {}) };
}

/** The last events of a run that succeeded: the `done` phase, then `done`. */
export function emitDone(emit: (e: RgEvent) => void): void {
  emit({ type: 'phase', phase: 'done' });
  emit({ type: 'done' });
}

/** The completion's part of a result (what every pipeline reports about the text it generated). */
export function completionOf(r: Completion): Completion {
  return { text: r.text, reasoning: r.reasoning, answer: r.answer, formatOk: r.formatOk, stopReason: r.stopReason };
}

export interface ReasonOptions {
  /** Chain of thought: the first phase is `thinking`, otherwise `answering`. */
  cot: boolean;
  maxNewTokens: number;
  sampling: ResolvedSampling;
  /** Gather the painter's condition (owned by the caller). */
  hiddenStates: boolean;
  signal?: AbortSignal;
  /** The first phase event's detail ('cascade': cascade thinking's second pass). */
  detail?: string;
}

/** Generates with the first phase event, `token` deltas and phase changes streamed to `emit`. */
export function reason(
  model: ReasonerModel,
  prompt: PreparedPrompt,
  pixelValues: Float32Array | null,
  o: ReasonOptions,
  emit: (e: RgEvent) => void,
): Promise<GenerationResult> {
  const initial = o.cot ? 'thinking' : 'answering';
  emit(o.detail ? { type: 'phase', phase: initial, detail: o.detail } : { type: 'phase', phase: initial });
  return generate(model, prompt, pixelValues, {
    maxNewTokens: o.maxNewTokens,
    ...o.sampling,
    hiddenStates: o.hiddenStates,
    initialPhase: initial,
    signal: o.signal,
    onToken: (t) => {
      if (t.text) emit({ type: 'token', text: t.text, phase: t.phase });
    },
    onPhase: (phase) => emit({ type: 'phase', phase }),
  });
}
