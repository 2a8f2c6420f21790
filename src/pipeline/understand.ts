/**
 * @file Understand: image + question → streamed reasoning and answer. Orchestration only: every input is checked
 * on the CPU first (prompt, settings, template, image), so bad input is refused before any GPU work and changes
 * nothing; then the shared reasoner generates with `token` and `phase` events streamed to the caller.
 */
import { CancelledError, badInput, toErrorInfo } from '../errors';
import type { PackSource } from '../packs/source';
import type { BackendChoice } from '../runtime/backend';
import type { Backend } from '../runtime/ort';
import type { EventSink } from './events';
import {
  generate,
  getReasoner,
  loadReasonerText,
  preparePrompt,
  preprocessImage,
  resolveSampling,
  understandMessages,
  type GenerationTimings,
  type ImageInput,
  type PromptOverrides,
  type ResolvedSampling,
  type StopReason,
} from '../models/reasoner';
import { safeSink } from './events';

export interface UnderstandRequest {
  /** Chosen by the caller, so `cancel(runId)` can reach the run while it streams. */
  runId: string;
  /** The pack id (see src/packs/registry.ts). */
  pack: string;
  /** The question (or instruction). */
  prompt: string;
  /** An image file the browser can decode (PNG, JPEG, WebP…) or raw RGBA pixels; optional. */
  image?: ImageInput | null;
  /** Chain of thought (`<think>…</think><answer>…</answer>`); default: the pack's `defaults.cot`. */
  cot?: boolean;
  /** Per-call overrides of the system prompts and the user-turn prefix (prompts.ts has the defaults). */
  prompts?: PromptOverrides;
  /** A Jinja chat template to use instead of the pack's. */
  chatTemplate?: string;
  /** Default: the pack's `defaults.max_new_tokens`. */
  maxNewTokens?: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}

export interface UnderstandResult {
  runId: string;
  pack: string;
  backend: Backend;
  /** The rendered chat prompt (image placeholder not expanded). */
  promptText: string;
  promptTokens: number;
  /** Generated ids, the stop token included. */
  tokenIds: number[];
  /** The completion with its tags (`<think>`, `</answer>`…). */
  text: string;
  reasoning: string;
  answer: string;
  /** Whether the RGPO format reward's regex matched. */
  formatOk: boolean;
  stopReason: StopReason;
  sampling: ResolvedSampling;
  timings: GenerationTimings;
}

export interface UnderstandDeps {
  /** Where the pack's files come from (the worker passes the cached IndexedDB source), or how to get it. */
  source: PackSource | (() => PackSource);
  /** The backend (WebGPU with the shared device, or WASM), or how to choose it (after the input checks). */
  choice: BackendChoice | (() => Promise<BackendChoice>);
  signal?: AbortSignal;
}

/**
 * Runs Understand. Events: `phase` loading → thinking/answering (→ answering at `</think>`) → done, `token` text
 * deltas, then `done`; on failure one `error` event, and the promise rejects with the same error (BAD_INPUT with
 * the field, CANCELLED when `deps.signal` aborts).
 */
export async function understand(req: UnderstandRequest, onEvent: EventSink | undefined, deps: UnderstandDeps): Promise<UnderstandResult> {
  const emit = safeSink(onEvent);
  try {
    // 1. Everything checkable on the CPU, before any GPU work.
    if (typeof req.prompt !== 'string' || req.prompt.trim().length === 0) throw badInput('prompt', 'the prompt is empty');
    const sampling = resolveSampling(req);
    const source = typeof deps.source === 'function' ? deps.source() : deps.source;
    const text = await loadReasonerText(source);
    const context = text.config.max_position_embeddings;
    const maxNewTokens = req.maxNewTokens ?? text.manifest.defaults.max_new_tokens;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens > context) {
      throw badInput('maxNewTokens', `max new tokens must be a whole number from 1 to ${context}, got ${req.maxNewTokens}`);
    }
    const cot = req.cot ?? text.manifest.defaults.cot;
    const hasImage = req.image !== undefined && req.image !== null;
    const prompt = preparePrompt(text, {
      messages: understandMessages({ prompt: req.prompt, cot, image: hasImage, prompts: req.prompts }),
      chatTemplate: req.chatTemplate,
      images: hasImage ? 1 : 0,
      userText: req.prompt,
    });
    const pixels = hasImage ? await preprocessImage(req.image!, text.config.vision) : null;
    if (deps.signal?.aborted) throw new CancelledError('Cancelled before it started');

    // 2. The model (loaded once per pack and device), then generation.
    emit({ type: 'phase', phase: 'loading', detail: source.id });
    const choice = typeof deps.choice === 'function' ? await deps.choice() : deps.choice;
    const model = await getReasoner(source, choice);
    const initial = cot ? 'thinking' : 'answering';
    emit({ type: 'phase', phase: initial });
    const res = await generate(model, prompt, pixels, {
      maxNewTokens,
      ...sampling,
      hiddenStates: false,
      initialPhase: initial,
      signal: deps.signal,
      onToken: (t) => {
        if (t.text) emit({ type: 'token', text: t.text, phase: t.phase });
      },
      onPhase: (phase) => emit({ type: 'phase', phase }),
    });
    emit({ type: 'phase', phase: 'done' });
    emit({ type: 'done' });
    return {
      runId: req.runId,
      pack: source.id,
      backend: model.backend,
      promptText: prompt.text,
      promptTokens: prompt.ids.length,
      tokenIds: res.tokenIds,
      text: res.text,
      reasoning: res.reasoning,
      answer: res.answer,
      formatOk: res.formatOk,
      stopReason: res.stopReason,
      sampling: res.sampling,
      timings: res.timings,
    };
  } catch (e) {
    emit({ type: 'error', error: toErrorInfo(e) });
    throw e;
  }
}
