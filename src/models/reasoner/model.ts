/**
 * @file Loading a pack's reasoner: configs, tokenizer and chat template from the pack (only through a PackSource),
 * the onnx-community-layout sessions through src/runtime/ort.ts — `embed_tokens` at once (when the pack has the
 * reasoner's ONNX graphs; a converted pack has none and runs on WebGPU only), `vision_encoder` on the first image —
 * and the text decoder: on WebGPU with a pack that has reasoner weights (`reasoner_weights`), our
 * WGSL engine (engine.ts, weights uploaded at load in the variant `LoadOptions.weights` asks for), with
 * `decoder_model_merged` loaded only when a run asks for the ORT path; otherwise (WASM, or a pack without the file)
 * `decoder_model_merged` at once. On WebGPU every ORT output that feeds the GPU again (embeddings, image features,
 * logits, KV cache, last hidden state) stays a `gpu-buffer` tensor on the shared device.
 */
import { RgError } from '../../errors';
import {
  CONFIG_FILE_SCHEMAS,
  parseWith,
  requireVision,
  tokenizerTopId,
  type Manifest,
  type ReasonerConfig,
  type WeightVariant,
} from '../../packs/manifest';
import { readJson, type FileProgress, type PackSource } from '../../packs/source';
import { createSession, type Backend, type OrtSession } from '../../runtime/ort';
import { ortSideBackend, type BackendChoice, type OrtSideOption } from '../../runtime/backend';
import { ReasonerTokenizer } from './tokenizer';
import { ChatTemplate } from './template';
import { ReasonerEngine } from './engine';
import { loadReasonerWeights } from './weights';
import { RunQueue } from '../serial';

/**
 * The decoder output that holds the painter's condition rows: `pre_norm_hidden_state` (the last layer's output
 * before the final norm, MindOmni) or `last_hidden_state` (after it) for `condition_hidden: 'post_norm'`.
 */
export function conditionOutput(cfg: ReasonerConfig): 'pre_norm_hidden_state' | 'last_hidden_state' {
  return cfg.condition_hidden === 'pre_norm' ? 'pre_norm_hidden_state' : 'last_hidden_state';
}

/** The KV-cache input and output names of layer `l`. */
export function kvNames(l: number): { past: [string, string]; present: [string, string] } {
  return {
    past: [`past_key_values.${l}.key`, `past_key_values.${l}.value`],
    present: [`present.${l}.key`, `present.${l}.value`],
  };
}

export interface LoadOptions {
  onProgress?: (p: FileProgress) => void;
  /**
   * The engine's weight format (f32, f16, bf16, int8, int4): the pack's file of that variant, or its f32 file
   * converted at load. Default: the pack's f32 file (or its only variant).
   */
  weights?: WeightVariant;
  /** Shard the engine's matrices at this many bytes instead of the device's binding limit (tests). */
  maxBindingBytes?: number;
  /** Prompt rows per prefill pass of the engine instead of `prefillChunkRows` (tests). */
  prefillChunk?: number;
  /** Where the vision encoder runs: by default `ortSideBackend`'s rule (WASM on a fallback adapter). */
  vision?: OrtSideOption;
}

/** What turning a request into prompt ids needs: configs, tokenizer, chat template (CPU only, no GPU work). */
export interface ReasonerText {
  readonly manifest: Manifest;
  readonly config: ReasonerConfig;
  readonly tokenizer: ReasonerTokenizer;
  /** The pack's chat template. */
  readonly template: ChatTemplate;
}

const texts = new Map<string, Promise<ReasonerText>>();

/** The tokenizer and chat template of `source`'s pack (read once per pack id; every file is sha256-verified). */
export function loadReasonerText(source: PackSource): Promise<ReasonerText> {
  let p = texts.get(source.id);
  if (!p) {
    p = (async () => {
      const manifest = await source.manifest();
      const config = manifest.reasoner;
      const [tokJson, tokCfg] = await Promise.all([
        readJson(source, manifest.paths.tokenizer),
        readJson(source, manifest.paths.tokenizer_config),
      ]);
      const tokenizerJson = parseWith(
        CONFIG_FILE_SCHEMAS.tokenizer,
        tokJson,
        `${source.id}/${manifest.paths.tokenizer}`,
      );
      const tokenizerConfig = parseWith(
        CONFIG_FILE_SCHEMAS.tokenizer_config,
        tokCfg,
        `${source.id}/${manifest.paths.tokenizer_config}`,
      );
      const top = tokenizerTopId(tokenizerJson);
      if (top >= config.vocab_size)
        throw new RgError(
          'INTEGRITY',
          `${source.id}/${manifest.paths.tokenizer} has token id ${top}, beyond the reasoner's vocab_size ` +
            `${config.vocab_size}`,
          { hint: "The tokenizer is not the model's own; convert the checkpoint again with its tokenizer files." },
        );
      const tokenizer = new ReasonerTokenizer(tokenizerJson, tokenizerConfig, config);
      const template = new ChatTemplate(tokenizerConfig.chat_template, tokenizer.addedTokens);
      return { manifest, config, tokenizer, template };
    })();
    texts.set(source.id, p);
    p.catch(() => texts.delete(source.id));
  }
  return p;
}

/**
 * A loaded reasoner. Runs are serialised (one ORT run at a time per session); `dispose()` releases the sessions and
 * the engine's weights.
 */
export class ReasonerModel implements ReasonerText {
  private visionSession: Promise<OrtSession> | null = null;
  private decoderSession: Promise<OrtSession> | null = null;
  private readonly runs = new RunQueue('reasoner');

  private constructor(
    readonly source: PackSource,
    readonly manifest: Manifest,
    readonly config: ReasonerConfig,
    readonly backend: Backend,
    readonly device: GPUDevice | null,
    readonly tokenizer: ReasonerTokenizer,
    readonly template: ChatTemplate,
    /** The `embed_tokens` session (the ORT path), or null for a pack without the reasoner's ONNX graphs. */
    readonly embed: OrtSession | null,
    /** The WGSL text decoder (WebGPU and a pack with reasoner weights), or null. */
    readonly engine: ReasonerEngine | null,
    private readonly decoderBytes: (() => Promise<Uint8Array>) | null,
    /** The vision encoder's backend (`ortSideBackend`): its features are uploaded when it is not WebGPU. */
    readonly visionBackend: Backend = backend,
  ) {}

  /** Loads the reasoner of `source`'s pack on `choice` (WebGPU with the shared device, or WASM). */
  static async load(source: PackSource, choice: BackendChoice, opts: LoadOptions = {}): Promise<ReasonerModel> {
    const device = choice.backend === 'webgpu' ? (choice.device ?? null) : null;
    if (choice.backend === 'webgpu' && !device)
      throw new RgError('INTERNAL', 'ReasonerModel.load: webgpu without a device');
    // A pack without the reasoner's ONNX graphs is refused on WASM before any of its files is read.
    const { embed_tokens: embedPath, decoder: decoderPath } = (await source.manifest()).paths;
    if ((!embedPath || !decoderPath) && !device)
      throw new RgError(
        'UNSUPPORTED_PACK',
        `The pack ${source.id} runs on WebGPU only: its reasoner has no ONNX graphs`,
        {
          hint:
            'A pack converted from a checkpoint runs its reasoner as our WebGPU engine. Use a browser with WebGPU ' +
            '(Chrome or Edge 113+, Safari 18+), or a pack with ONNX graphs such as tiny-random.',
        },
      );
    const { manifest, config: cfg, tokenizer, template } = await loadReasonerText(source);
    const embed = embedPath
      ? await createSession(await source.file(embedPath, opts.onProgress), {
          backend: choice.backend,
          device: device ?? undefined,
          gpuOutputs: ['inputs_embeds'],
          label: 'embed_tokens',
        })
      : null;
    let engine: ReasonerEngine | null = null;
    let model: ReasonerModel | null = null;
    try {
      if (embed) checkSession(source.id, embed, 'embed_tokens.onnx', ['input_ids'], ['inputs_embeds']);
      const weights = device
        ? await loadReasonerWeights(device, source, opts.onProgress, {
            format: opts.weights,
            maxBindingBytes: opts.maxBindingBytes,
          })
        : null;
      engine = weights && device ? new ReasonerEngine(device, weights, cfg, { prefillChunk: opts.prefillChunk }) : null;
      model = new ReasonerModel(
        source,
        manifest,
        cfg,
        choice.backend,
        device,
        tokenizer,
        template,
        embed,
        engine,
        decoderPath ? () => source.file(decoderPath, opts.onProgress) : null,
        ortSideBackend(choice, opts.vision),
      );
      // Without the engine every run needs the ONNX decoder: load it now, so a broken file fails the load.
      if (!engine) await model.decoder();
      return model;
    } catch (e) {
      engine?.dispose();
      await embed?.release();
      if (model?.decoderSession) await (await model.decoderSession.catch(() => null))?.release();
      throw e;
    }
  }

  /** Whether the ORT path can run: the pack has the reasoner's ONNX graphs. */
  get hasOrt(): boolean {
    return this.embed !== null && this.decoderBytes !== null;
  }

  /** The `embed_tokens` session; only the ORT path asks, after `generate` checked `hasOrt`. */
  embedSession(): OrtSession {
    if (!this.embed) throw new RgError('INTERNAL', `${this.source.id}: the ORT path without embed_tokens`);
    return this.embed;
  }

  /** The `decoder_model_merged` session (the ORT path), loaded on first use. */
  decoder(): Promise<OrtSession> {
    const bytes = this.decoderBytes;
    if (!bytes)
      return Promise.reject(new RgError('INTERNAL', `${this.source.id}: the ORT path without decoder_model_merged`));
    this.decoderSession ??= (async () => {
      const cfg = this.config;
      const layers = Array.from({ length: cfg.num_hidden_layers }, (_, l) => kvNames(l));
      const session = await createSession(await bytes(), {
        backend: this.backend,
        device: this.device ?? undefined,
        gpuOutputs: [
          'logits',
          ...layers.flatMap((k) => k.present),
          ...new Set(['last_hidden_state', conditionOutput(cfg)]),
        ],
        label: 'decoder_model_merged',
      });
      try {
        checkSession(
          this.source.id,
          session,
          'decoder_model_merged.onnx',
          ['inputs_embeds', 'attention_mask', 'position_ids', ...layers.flatMap((k) => k.past)],
          ['logits', ...new Set(['last_hidden_state', conditionOutput(cfg)]), ...layers.flatMap((k) => k.present)],
        );
      } catch (e) {
        await session.release();
        throw e;
      }
      return session;
    })().catch((e) => {
      this.decoderSession = null;
      throw e;
    });
    return this.decoderSession;
  }

  /** The vision encoder session, loaded on first use. */
  vision(): Promise<OrtSession> {
    requireVision(this.config, this.source.id);
    const path = this.manifest.paths.vision_encoder;
    if (!path) throw new RgError('INTEGRITY', `${this.source.id}: reasoner.vision without paths.vision_encoder`);
    this.visionSession ??= this.source
      .file(path)
      .then((bytes) =>
        createSession(bytes, {
          backend: this.visionBackend,
          device: this.visionBackend === 'webgpu' ? (this.device ?? undefined) : undefined,
          gpuOutputs: this.visionBackend === 'webgpu' ? ['image_features'] : [],
          label: 'vision_encoder',
        }),
      )
      .catch((e) => {
        this.visionSession = null;
        throw e;
      });
    return this.visionSession;
  }

  /** Runs `fn` after every earlier exclusive call has finished (ORT sessions take one run at a time). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.runs.run(fn);
  }

  /** Releases the sessions (after queued runs finish). */
  async dispose(): Promise<void> {
    if (!(await this.runs.close())) return;
    this.engine?.dispose();
    const sessions = this.embed ? [this.embed] : [];
    if (this.decoderSession) sessions.push(await this.decoderSession.catch(() => null as never));
    if (this.visionSession) sessions.push(await this.visionSession.catch(() => null as never));
    await Promise.all(sessions.filter(Boolean).map((s) => s.release()));
  }
}

function checkSession(packId: string, s: OrtSession, what: string, inputs: string[], outputs: string[]): void {
  const missing = [
    ...inputs.filter((n) => !s.inputNames.includes(n)),
    ...outputs.filter((n) => !s.outputNames.includes(n)),
  ];
  if (missing.length) throw new RgError('INTEGRITY', `${packId}: ${what} lacks ${missing.join(', ')}`);
}
