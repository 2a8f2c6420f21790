/**
 * @file Generation: one prefill over the prompt, then a decode loop of one token per step, on one of two paths.
 *
 * - `engine` (WebGPU with a pack that has reasoner weights; the default there): our WGSL decoder (engine.ts). Each
 *   step is one command buffer — embedding of the previous token read from the GPU id buffer, the layers with the KV
 *   cache in our buffers, the condition row copied into the conditioning buffer, lm_head, the `sample`
 *   kernel — and only the 4-byte id comes back, while later steps are already queued (`ENGINE_AHEAD`).
 * - `ort` (WASM, packs without the file, or asked for): onnxruntime-web's `decoder_model_merged`, the reference
 *   path. On WebGPU the KV cache stays as ORT gpu-buffer tensors on the shared device (each step's `present.*` are
 *   fed back as the next step's `past_key_values.*`, and the replaced tensors are disposed at once); the token is
 *   chosen on the GPU from ORT's logits buffer and the condition rows (`pre_norm_hidden_state`, or
 *   `last_hidden_state` for a post-norm pack) are copied on the GPU into the conditioning buffer (hidden.ts). On
 *   WASM the same loop runs on CPU tensors.
 *
 * Both paths give the same tokens, text, events and conditioning (within float rounding), and both stream: token
 * text deltas (whole characters only) tagged with the phase, which starts at `thinking` for a chain-of-thought
 * prompt and moves to `answering` at `</think>` (or `<answer>`). Stops on an EOS id, `</answer>`, max new tokens, or
 * the end of the context. The condition rows are those of the prompt and of every generated token fed back, plus
 * the row of a stop token in `rowStopIds` (MindOmni's `</answer>`), before or after the final norm as the pack's
 * `condition_hidden` says (docs/formats.md "Reasoner conditioning"). An aborted signal stops it at the next token
 * with CancelledError, and everything it allocated is freed. Steps queued past the stop are discarded: their tokens
 * are never reported and their hidden rows are taken back (a row stop keeps its own).
 */
import { CancelledError, RgError, badInput } from '../../errors';
import { GpuBatch } from '../../gpu/batch';
import { bufferOf, cpuTensor, run, type OrtTensor } from '../../runtime/ort';
import type { EngineRun } from './engine';
import { HiddenCollector, type HiddenStates } from './hidden';
import { requireVision } from '../../packs/manifest';
import { stopSets } from './stops';
import { conditionOutput, kvNames, type ReasonerModel } from './model';
import { parseCompletion, type ParsedCompletion } from './parse';
import type { PreparedPrompt } from './prepare';
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from './sampling';
import { createTokenPicker, type TokenPicker } from './pick';
import { TokenStream, type Phase, type TokenEvent } from './stream';

export type { Phase, TokenEvent } from './stream';

export interface GenerateOptions extends SamplingOptions {
  /** At most this many new tokens (the stop token included). */
  maxNewTokens: number;
  /** Token ids that end generation. Default: the pack's EOS ids and `</answer>`. */
  stopIds?: readonly number[];
  /**
   * Stop ids whose own condition row is computed (the token is fed once more; nothing is drawn). Default:
   * `</answer>` when the pack's `reasoner.condition_answer_end_row` (MindOmni generates on to `<|im_end|>`, so
   * `</answer>` has a row and `<|im_end|>` has none), else none.
   */
  rowStopIds?: readonly number[];
  /** Gather the conditioning hidden states (default true). */
  hiddenStates?: boolean;
  /** The phase of the first tokens (default 'thinking'). */
  initialPhase?: Phase;
  /** Cancels at the next token (CancelledError). */
  signal?: AbortSignal;
  onToken?: (e: TokenEvent) => void;
  /** Called when the phase changes (not for the initial phase). */
  onPhase?: (phase: Phase) => void;
  /**
   * Which decoder runs: 'engine' (our WGSL engine; WebGPU and a pack with reasoner weights) or 'ort'
   * (onnxruntime-web). Default: the engine where it is available, ORT otherwise.
   */
  reasonerPath?: ReasonerPath;
}

export type ReasonerPath = 'engine' | 'ort';

/** Decode steps the engine queues beyond the one whose id is being read back. */
export const ENGINE_AHEAD = 2;

export type StopReason = 'eos' | 'answer_end' | 'max_new_tokens' | 'context';

export interface GenerationTimings {
  /** Prefill: embeddings, image features, the decoder over the prompt, and choosing the first token. */
  prefillMs: number;
  /** Every later step. */
  decodeMs: number;
  /** Steps after the first token per second of decodeMs (0 when there were none). */
  decodeTokensPerSecond: number;
  totalMs: number;
}

/** A finished completion: its text, its parts and why it stopped (what every pipeline's result reports). */
export interface Completion extends ParsedCompletion {
  /** The completion with special tokens as markers (`<think>`, `</answer>`…), a trailing EOS token left out. */
  text: string;
  stopReason: StopReason;
}

export interface GenerationResult extends Completion {
  promptIds: number[];
  /** Generated ids, the stop token included. */
  tokenIds: number[];
  /** The painter's condition (owned by the caller: dispose it), or null when not asked for. */
  hidden: HiddenStates | null;
  sampling: ResolvedSampling;
  /** The decoder that ran. */
  path: ReasonerPath;
  timings: GenerationTimings;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('Generation cancelled');
}

/** Checks a max-new-tokens setting against the context; BAD_INPUT on 'maxNewTokens' when it does not fit. */
export function checkMaxNewTokens(n: unknown, context: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > context) {
    throw badInput('maxNewTokens', `max new tokens must be a whole number from 1 to ${context}, got ${String(n)}`);
  }
  return n;
}

/**
 * Generates from a prepared prompt (`pixelValues` when it has an image). Runs are serialised per model. Throws
 * CancelledError when `signal` aborts, RgError('BAD_INPUT') for out-of-range settings (before any GPU work).
 */
export async function generate(
  model: ReasonerModel,
  prompt: PreparedPrompt,
  pixelValues: Float32Array | null,
  opts: GenerateOptions,
): Promise<GenerationResult> {
  const cfg = model.config;
  const sampling = resolveSampling(opts);
  checkMaxNewTokens(opts.maxNewTokens, cfg.max_position_embeddings);
  if (prompt.ids.length < 1 || prompt.ids.length > cfg.max_position_embeddings) {
    throw badInput('prompt', `the prompt must be 1 to ${cfg.max_position_embeddings} tokens, got ${prompt.ids.length}`);
  }
  const path = opts.reasonerPath ?? (model.engine ? 'engine' : 'ort');
  if (path !== 'engine' && path !== 'ort') {
    throw badInput('reasonerPath', `reasonerPath must be 'engine' or 'ort', got ${String(opts.reasonerPath)}`);
  }
  if (path === 'engine' && !model.engine) {
    throw badInput(
      'reasonerPath',
      model.device
        ? `pack ${model.manifest.id} has no reasoner weights (paths.reasoner_weights), ` +
            'so the reasoner engine cannot run'
        : 'the reasoner engine needs WebGPU; this model runs on WASM',
    );
  }
  if (path === 'ort' && !model.hasOrt) {
    throw badInput(
      'reasonerPath',
      `pack ${model.manifest.id} has no ONNX graphs for its reasoner (paths.embed_tokens, paths.decoder), ` +
        'so only the engine path runs',
    );
  }
  throwIfAborted(opts.signal);
  return model.exclusive(() => generateNow(model, prompt, pixelValues, opts, sampling, path));
}

/**
 * The hidden states of the prompt's prefill only (`prompt.ids.length` rows): the painter's negative (CFG)
 * condition. The one token drawn is never fed back, so it adds no row (docs/formats.md).
 */
export async function prefill(
  model: ReasonerModel,
  prompt: PreparedPrompt,
  pixelValues: Float32Array | null = null,
  signal?: AbortSignal,
  reasonerPath?: ReasonerPath,
): Promise<HiddenStates> {
  const r = await generate(model, prompt, pixelValues, {
    maxNewTokens: 1,
    hiddenStates: true,
    rowStopIds: [],
    signal,
    reasonerPath,
  });
  return r.hidden!;
}

/** What both decode loops share: the settings of the run and where each chosen token goes. */
interface Loop {
  model: ReasonerModel;
  prompt: PreparedPrompt;
  pixelValues: Float32Array | null;
  sampling: ResolvedSampling;
  signal: AbortSignal | undefined;
  /** At most this many tokens are drawn. */
  maxNew: number;
  collector: HiddenCollector | null;
  /** Records the next token; true when generation ends with it. */
  accept(id: number): boolean;
  /** Set by `accept` when the run ended on a stop token whose own condition row is to be computed. */
  feedLast: boolean;
}

async function generateNow(
  model: ReasonerModel,
  prompt: PreparedPrompt,
  pixelValues: Float32Array | null,
  opts: GenerateOptions,
  sampling: ResolvedSampling,
  path: ReasonerPath,
): Promise<GenerationResult> {
  throwIfAborted(opts.signal);
  const t0 = performance.now();
  const cfg = model.config;
  const st = cfg.special_tokens;
  const L = prompt.ids.length;
  const context = cfg.max_position_embeddings;
  // The last generated token is fed back only for a row stop, so at most L + maxNew − 1 positions are drawn from.
  const maxNew = Math.min(opts.maxNewTokens, context - L + 1);
  const { stopIds, rowStopIds } = stopSets(cfg, opts);
  const eosIds = new Set(cfg.eos_token_ids);
  const tokenIds: number[] = [];
  let stopReason: StopReason = 'max_new_tokens';
  const stream = new TokenStream(
    model.tokenizer,
    st,
    stopIds,
    opts.initialPhase ?? 'thinking',
    opts.onToken,
    opts.onPhase,
  );
  let tFirst = 0;
  let success = false;
  const collector = opts.hiddenStates === false ? null : new HiddenCollector(cfg.hidden_size, L + maxNew, model.device);
  const loop: Loop = {
    model,
    prompt,
    pixelValues,
    sampling,
    signal: opts.signal,
    maxNew,
    collector,
    feedLast: false,
    accept(id) {
      tokenIds.push(id);
      if (tokenIds.length === 1) tFirst = performance.now();
      stream.push(id);
      if (stopIds.has(id)) {
        stopReason = id === st.answer_end && !eosIds.has(id) ? 'answer_end' : 'eos';
        this.feedLast = rowStopIds.has(id);
        return true;
      }
      if (tokenIds.length >= maxNew) {
        stopReason = maxNew < opts.maxNewTokens ? 'context' : 'max_new_tokens';
        return true;
      }
      return false;
    },
  };
  try {
    await (path === 'engine' ? engineLoop(loop) : ortLoop(loop));
    stream.finish();
    const textIds = eosIds.has(tokenIds[tokenIds.length - 1]!) ? tokenIds.slice(0, -1) : tokenIds;
    const text = model.tokenizer.decode(textIds, false);
    const parsed = parseCompletion(text);
    const hiddenStates = collector ? collector.finish(L) : null;
    const tEnd = performance.now();
    const decodeMs = tokenIds.length > 1 ? tEnd - tFirst : 0;
    success = true;
    return {
      promptIds: prompt.ids.slice(),
      tokenIds,
      text,
      ...parsed,
      stopReason,
      hidden: hiddenStates,
      sampling,
      path,
      timings: {
        prefillMs: tFirst - t0,
        decodeMs,
        decodeTokensPerSecond: decodeMs > 0 ? ((tokenIds.length - 1) * 1000) / decodeMs : 0,
        totalMs: tEnd - t0,
      },
    };
  } finally {
    if (!success) collector?.abort();
  }
}

/** The image features of a prompt with image tokens (ORT's vision encoder), checked against the config. */
async function imageFeatures(
  model: ReasonerModel,
  prompt: PreparedPrompt,
  pixelValues: Float32Array | null,
): Promise<OrtTensor> {
  const cfg = model.config;
  if (!pixelValues) throw new RgError('INTERNAL', 'the prompt has image tokens but no pixel values were given');
  const v = requireVision(cfg, model.manifest.id);
  const vision = await model.vision();
  const feats = (
    await run(vision, { pixel_values: cpuTensor('float32', pixelValues, [1, 3, v.image_size, v.image_size]) })
  ).image_features!;
  const n = cfg.num_image_tokens;
  const bad =
    feats.dims.reduce((a, b) => a * b, 1) !== n * cfg.hidden_size
      ? `image_features has shape [${feats.dims}], expected ${n} × ${cfg.hidden_size}`
      : prompt.imageSpans.find(([, count]) => count !== n)
        ? `an image span of ${prompt.imageSpans.find(([, count]) => count !== n)![1]} tokens, expected ${n}`
        : null;
  if (bad) {
    feats.dispose();
    throw new RgError(bad.startsWith('image_features') ? 'INTEGRITY' : 'INTERNAL', bad);
  }
  return feats;
}

/**
 * The engine's loop. The prefill draws token 0; decode step s feeds token s and draws s + 1. Up to ENGINE_AHEAD
 * steps are queued beyond the token whose id is being read back, each reading its input id from the GPU, so the GPU
 * never waits for the CPU. When a token ends the run, the steps queued after it are dropped (their hidden rows taken
 * back; their ids and cache rows are never read), so the result equals the plain loop's; a row stop keeps the row
 * of the step that fed it (or feeds it now when no step was queued).
 */
async function engineLoop(loop: Loop): Promise<void> {
  const { model, prompt, sampling, collector, maxNew, signal } = loop;
  const engine = model.engine!;
  const device = engine.device;
  let feats: OrtTensor | null = null;
  let runBuffers: EngineRun | null = null;
  try {
    if (prompt.imageSpans.length) feats = await imageFeatures(model, prompt, loop.pixelValues);
    throwIfAborted(signal);
    const r = (runBuffers = engine.run(prompt.ids, maxNew, ENGINE_AHEAD + 1));
    const pre = new GpuBatch(device, 'reasoner prefill');
    const featBuffer = feats ? gpuFeatures(pre, feats) : null;
    const images = prompt.imageSpans.map(
      ([start, count]) => [featBuffer!, start, count] as [GPUBuffer, number, number],
    );
    r.encodePrefill(pre, sampling, collector, images);
    pre.submit();
    feats?.dispose();
    feats = null;
    let queued = 0; // the highest step whose draw is queued
    for (let step = 0; ; step++) {
      while (queued < step + ENGINE_AHEAD && queued + 1 < maxNew) {
        throwIfAborted(signal);
        const batch = new GpuBatch(device, 'reasoner step');
        r.encodeStep(batch, queued, sampling, collector);
        batch.submit();
        queued++;
      }
      if (loop.accept(await r.read(step))) {
        const keep = loop.feedLast ? 1 : 0;
        if (queued > step) collector?.dropLast(queued - step - keep);
        else if (keep) {
          const batch = new GpuBatch(device, 'reasoner stop row');
          r.encodeFeed(batch, step, sampling, collector);
          batch.submit();
        }
        return;
      }
      throwIfAborted(signal);
    }
  } finally {
    feats?.dispose();
    runBuffers?.dispose();
  }
}

/** The image features in a GPU buffer: the session's own, or (vision encoder on WASM) an upload living until submit. */
function gpuFeatures(batch: GpuBatch, feats: OrtTensor): GPUBuffer {
  if (feats.location === 'gpu-buffer') return bufferOf(feats);
  const data = feats.data as Float32Array<ArrayBuffer>;
  const buf = batch.scratch(data.byteLength, 'image features');
  batch.device.queue.writeBuffer(buf, 0, data);
  return buf;
}

/** The prompt embeddings (image features spliced in on the GPU, or on the CPU for WASM). */
async function promptEmbeddings(
  model: ReasonerModel,
  prompt: PreparedPrompt,
  pixelValues: Float32Array | null,
): Promise<OrtTensor> {
  const H = model.config.hidden_size;
  const ids = BigInt64Array.from(prompt.ids, (i) => BigInt(i));
  const embeds = (await run(model.embedSession(), { input_ids: cpuTensor('int64', ids, [1, ids.length]) }))
    .inputs_embeds!;
  if (!prompt.imageSpans.length) return embeds;
  try {
    const feats = await imageFeatures(model, prompt, pixelValues);
    try {
      if (model.device && feats.location !== 'gpu-buffer') {
        // The vision encoder ran on WASM beside a WebGPU decoder (ortSideBackend): write the rows in.
        const f = feats.data as Float32Array<ArrayBuffer>;
        for (const [start, count] of prompt.imageSpans)
          model.device.queue.writeBuffer(bufferOf(embeds), start * H * 4, f, 0, count * H);
      } else if (model.device) {
        const enc = model.device.createCommandEncoder({ label: 'splice image features' });
        for (const [start, count] of prompt.imageSpans)
          enc.copyBufferToBuffer(bufferOf(feats), 0, bufferOf(embeds), start * H * 4, count * H * 4);
        model.device.queue.submit([enc.finish()]);
      } else {
        const e = embeds.data as Float32Array;
        const f = feats.data as Float32Array;
        for (const [start, count] of prompt.imageSpans) e.set(f.subarray(0, count * H), start * H);
      }
    } finally {
      feats.dispose();
    }
    return embeds;
  } catch (e) {
    embeds.dispose();
    throw e;
  }
}

/** The onnxruntime-web loop (the reference path; the only one on WASM). */
async function ortLoop(loop: Loop): Promise<void> {
  const { model, prompt, sampling, collector, maxNew, signal } = loop;
  const cfg = model.config;
  const device = model.device;
  const decoder = await model.decoder();
  throwIfAborted(signal);
  const L = prompt.ids.length;
  const layers = Array.from({ length: cfg.num_hidden_layers }, (_, l) => kvNames(l));
  const hiddenName = conditionOutput(cfg);
  let past: Record<string, OrtTensor> = {};
  const emptyKv = () => cpuTensor('float32', new Float32Array(0), [1, cfg.num_key_value_heads, 0, cfg.head_dim]);
  for (const { past: names } of layers) for (const n of names) past[n] = emptyKv();
  let picker: TokenPicker | null = null;
  let stepOut: OrtTensor[] = [];
  let embeds: OrtTensor | null = null;
  let total = L;
  let drawn = 0;

  /** Feeds `embeds` (`rows` positions ending at `total`) to the decoder; the new KV cache replaces the old one. */
  const decode = async (input: OrtTensor, rows: number): Promise<{ logits: OrtTensor; hidden: OrtTensor }> => {
    const positions =
      rows === 1 ? BigInt64Array.of(BigInt(total - 1)) : BigInt64Array.from({ length: rows }, (_, i) => BigInt(i));
    const feeds: Record<string, OrtTensor> = {
      inputs_embeds: input,
      attention_mask: cpuTensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: cpuTensor('int64', positions, [1, rows]),
      ...past,
    };
    const out = await run(decoder, feeds);
    input.dispose();
    if (input === embeds) embeds = null;
    // The replaced cache tensors are freed at once (work already submitted keeps their buffers alive).
    const next: Record<string, OrtTensor> = {};
    layers.forEach(({ past: p, present: q }) => {
      next[p[0]] = out[q[0]]!;
      next[p[1]] = out[q[1]]!;
    });
    for (const t of Object.values(past)) t.dispose();
    past = next;
    const kept = new Set(Object.values(next));
    stepOut = Object.values(out).filter((t) => !kept.has(t));
    return { logits: out.logits!, hidden: out[hiddenName]! };
  };
  const releaseStep = () => {
    for (const t of stepOut) t.dispose();
    stepOut = [];
  };

  try {
    picker = createTokenPicker(model, sampling);
    embeds = await promptEmbeddings(model, prompt, loop.pixelValues);
    if (device) {
      // WebGPU: the loop runs one step ahead. While the id of token i travels back (4 bytes), step i + 1 is already
      // queued: the embedding lookup reads token i straight from the sampler's GPU buffer, the decoder, the
      // hidden-state copy and the next draw follow on the same queue. If token i ends the run, the step queued
      // after it is dropped (its hidden row taken back), so results equal the plain loop's.
      const enqueue = async (input: OrtTensor, rows: number, step: number) => {
        const { logits, hidden } = await decode(input, rows);
        const batch = new GpuBatch(device, 'reasoner step');
        collector?.appendGpu(batch.encoder, bufferOf(hidden), rows);
        picker!.encode(batch, logits, rows - 1, step);
        batch.submit();
        releaseStep();
      };
      await enqueue(embeds, L, 0);
      for (let step = 0; ; step++) {
        // Token `step` is being drawn; queue the step that feeds it back, unless `step` is the last possible one.
        const ahead = step + 1 < maxNew;
        if (ahead) {
          throwIfAborted(signal);
          embeds = (await run(model.embedSession(), { input_ids: picker.idTensor() })).inputs_embeds!;
          total += 1;
          await enqueue(embeds, 1, step + 1);
        }
        const done = loop.accept(await picker.read(step));
        if (done) {
          if (ahead && !loop.feedLast) collector?.dropLast(1);
          if (!ahead && loop.feedLast) {
            // The stop token's own row: fed once more, nothing drawn.
            embeds = (await run(model.embedSession(), { input_ids: picker.idTensor() })).inputs_embeds!;
            total += 1;
            const { hidden } = await decode(embeds, 1);
            const batch = new GpuBatch(device, 'reasoner stop row');
            collector?.appendGpu(batch.encoder, bufferOf(hidden), 1);
            batch.submit();
            releaseStep();
          }
          break;
        }
        throwIfAborted(signal);
      }
    } else {
      let input: OrtTensor = embeds;
      let rows = L;
      for (;;) {
        throwIfAborted(signal);
        const { logits, hidden } = await decode(input, rows);
        collector?.appendCpu(hidden.data as Float32Array, rows);
        const id = picker.pickCpu(logits.data as Float32Array, rows - 1, drawn++);
        releaseStep();
        if (loop.accept(id)) {
          if (loop.feedLast) {
            // The stop token's own row: fed once more, nothing drawn.
            embeds = (
              await run(model.embedSession(), { input_ids: cpuTensor('int64', BigInt64Array.of(BigInt(id)), [1, 1]) })
            ).inputs_embeds!;
            total += 1;
            const last = await decode(embeds, 1);
            collector?.appendCpu(last.hidden.data as Float32Array, 1);
            releaseStep();
          }
          break;
        }
        throwIfAborted(signal);
        input = embeds = (
          await run(model.embedSession(), { input_ids: cpuTensor('int64', BigInt64Array.of(BigInt(id)), [1, 1]) })
        ).inputs_embeds!;
        total += 1;
        rows = 1;
      }
    }
  } finally {
    embeds?.dispose();
    for (const t of stepOut) t.dispose();
    for (const t of Object.values(past)) t.dispose();
    picker?.dispose();
  }
}
