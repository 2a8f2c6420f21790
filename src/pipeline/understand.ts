/**
 * @file Understand: image + question → streamed reasoning and answer. Orchestration only: every input is checked
 * on the CPU first (prompt, settings, template, image), so bad input is refused before any GPU work and changes
 * nothing; then the shared reasoner generates with `token` and `phase` events streamed to the caller.
 */
import { CancelledError, badInput } from '../errors';
import type { Backend } from '../runtime/ort';
import { resolvePackDefaults } from '../packs/defaults';
import { requireVision, type WeightVariant } from '../packs/manifest';
import {
  checkMaxNewTokens,
  loadReasonerText,
  preparePrompt,
  preprocessImage,
  resolveSampling,
  understandMessages,
  type Completion,
  type GenerationTimings,
  type ImageInput,
  type ResolvedSampling,
} from '../models/reasoner';
import { safeSink, type EventSink } from './events';
import {
  completionOf,
  emitDone,
  loadReasoner,
  packSource,
  reason,
  reportingErrors,
  resolveReasonerWeights,
  runPlanChoice,
} from './reason';
import type { PipelineDeps, ReasonRequest } from './reason';

export interface UnderstandRequest extends ReasonRequest {
  /** The question (or instruction). */
  prompt: string;
  /** An image file the browser can decode (PNG, JPEG, WebP…) or raw RGBA pixels; optional. */
  image?: ImageInput | null;
}

export interface UnderstandResult extends Completion {
  runId: string;
  pack: string;
  backend: Backend;
  /** The rendered chat prompt (image placeholder not expanded). */
  promptText: string;
  promptTokens: number;
  /** Generated ids, the stop token included. */
  tokenIds: number[];
  sampling: ResolvedSampling;
  /** The reasoner engine's weight format the run asked for (resolveReasonerWeights). */
  reasonerWeights: WeightVariant;
  timings: GenerationTimings;
}

export type UnderstandDeps = PipelineDeps;

/**
 * Runs Understand. Events: `phase` loading → thinking/answering (→ answering at `</think>`) → done, `token` text
 * deltas, then `done`; on failure one `error` event, and the promise rejects with the same error (BAD_INPUT with
 * the field, CANCELLED when `deps.signal` aborts).
 */
export async function understand(
  req: UnderstandRequest,
  onEvent: EventSink | undefined,
  deps: UnderstandDeps,
): Promise<UnderstandResult> {
  const emit = safeSink(onEvent);
  return reportingErrors(emit, async () => {
    // 1. Everything checkable on the CPU, before any GPU work.
    if (typeof req.prompt !== 'string' || req.prompt.trim().length === 0)
      throw badInput('prompt', 'the prompt is empty');
    const sampling = resolveSampling(req);
    const source = packSource(deps);
    const text = await loadReasonerText(source);
    const { defaults, limits } = resolvePackDefaults(text.manifest);
    const maxNewTokens = checkMaxNewTokens(req.maxNewTokens ?? defaults.maxNewTokens, limits.maxNewTokens);
    const cot = req.cot ?? defaults.cot;
    const reasonerWeights = resolveReasonerWeights(req, text.manifest);
    const hasImage = req.image !== undefined && req.image !== null;
    const prompt = preparePrompt(text, {
      messages: understandMessages({ prompt: req.prompt, cot, image: hasImage, prompts: req.prompts }),
      chatTemplate: req.chatTemplate,
      images: hasImage ? 1 : 0,
      userText: req.prompt,
    });
    const pixels = hasImage ? await preprocessImage(req.image!, requireVision(text.config, req.pack)) : null;
    if (deps.signal?.aborted) throw new CancelledError('Cancelled before it started');

    // 2. The model (loaded once per pack and device), then generation.
    const maxPositions = text.config.max_position_embeddings;
    const plan = runPlanChoice(maxPositions, prompt.ids.length, maxNewTokens, undefined, reasonerWeights);
    const { model } = await loadReasoner(source, deps, emit, plan);
    const o = { cot, maxNewTokens, sampling, hiddenStates: false, signal: deps.signal };
    const res = await reason(model, prompt, pixels, o, emit);
    emitDone(emit);
    return {
      runId: req.runId,
      pack: source.id,
      backend: model.backend,
      promptText: prompt.text,
      promptTokens: prompt.ids.length,
      tokenIds: res.tokenIds,
      ...completionOf(res),
      sampling: res.sampling,
      reasonerWeights,
      timings: res.timings,
    };
  });
}
