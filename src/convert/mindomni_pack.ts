/**
 * @file The `mindomni` pack kind: what turns a converted MindOmni folder into a pack the studio and `rg` open
 * (docs/formats.md "Converting MindOmni"). The converter writes, besides the weights, `config.json` (the mllm's text
 * decoder as a Qwen2 config), `generation_config.json` (when the mllm has none) and, last, `manifest.json`: the
 * reasoner as our WGSL engine only (no ONNX graphs, so WebGPU only), no vision tower, the tokenizer's own special
 * tokens (Qwen's `<think>` … tags are text unless the tokenizer adds them), MindOmni's prompts and app.py's defaults
 * at 512² (1,024 image tokens) where the position table allows.
 */
import { RgError } from '../errors';
import {
  INSTRUCTION_PREFIX,
  NEGATIVE_PROMPT_MINDOMNI,
  NEGATIVE_PROMPT_OMNIGEN,
  OMNIGEN_TEMPLATE_PREFIX,
  OMNIGEN_TEMPLATE_SUFFIX,
  SYSTEM_PROMPT_COT,
  SYSTEM_PROMPT_PLAIN,
} from '../packs/prompts';
import {
  parseManifest,
  tokenizerTopId,
  TokenizerJsonSchema,
  type ConnectorConfig,
  type FileEntry,
  type Manifest,
  type PainterConfig,
  type ReasonerConfig,
  type SpecialTokens,
  type VaeConfig,
  type WeightVariant,
} from '../packs/manifest';
import { planInputOf, planMemory, type DeviceAllowance, type KernelSupport } from '../packs/plan';
import type { Qwen2Dims } from './qwen2';

export const MANIFEST_FILE = 'manifest.json';
export const CONFIG_FILE = 'config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';

/** What names and describes the pack (the CLI and the app fill it from the repo or folder converted). */
export interface PackMeta {
  /** The pack id (lowercase letters, digits and dashes); default `mindomni-<weights>`. */
  id?: string;
  name?: string;
  /** Where the checkpoint came from (`owner/name@sha`, or a folder's name). */
  source?: string;
  /** The checkpoint's licence, when known (the Hub card's); otherwise the manifest says it was not read. */
  licence?: string;
}

/** app.py's settings: 50 steps, guidance 3.0, seed 42, up to 512 new tokens, sizes 128–2048 in steps of 16. */
const APP = { steps: 50, guidance: 3, seed: 42, maxNewTokens: 512, minSize: 128, maxSize: 2048, maxSteps: 100 };
/** Real packs default to 512² (1,024 image tokens with OmniGen's /8 VAE and patch 2). */
const DEFAULT_SIZE = 512;

/** The tokens a Qwen chat tokenizer must add; without them no MindOmni prompt can be written. */
const REQUIRED_TOKENS = {
  endoftext: '<|endoftext|>',
  im_start: '<|im_start|>',
  im_end: '<|im_end|>',
  image: '<|image_pad|>',
};
const TAGS = { think_start: '<think>', think_end: '</think>', answer_start: '<answer>', answer_end: '</answer>' };

function refuse(message: string, field: string, dir: string): never {
  throw new RgError('UNSUPPORTED_PACK', message, {
    field,
    hint:
      dir === 'mllm/'
        ? "MindOmni's mllm/ must keep Qwen2.5-VL's own tokenizer files (tokenizer.json, tokenizer_config.json)."
        : "The reasoner's folder must keep its own Qwen chat tokenizer files (tokenizer.json, tokenizer_config.json).",
  });
}

/**
 * The special tokens of a Qwen tokenizer.json (the tags null where the tokenizer does not add them). `dir`: where the
 * reasoner's files are (MindOmni's `mllm/`, or '' for a Qwen2 folder), for the messages.
 */
export function qwenSpecialTokens(tokenizerJson: unknown, vocab: number, dir = 'mllm/'): SpecialTokens {
  const t = TokenizerJsonSchema.parse(tokenizerJson);
  const added = new Map(t.added_tokens.map((a) => [a.content, a.id]));
  const out: Record<string, number | null> = {};
  const whose = dir === 'mllm/' ? "the mllm's" : "the reasoner's";
  for (const [k, content] of Object.entries(REQUIRED_TOKENS)) {
    const id = added.get(content);
    if (id === undefined)
      refuse(`${dir}tokenizer.json does not add ${content}, so it is not a Qwen chat tokenizer`, 'tokenizer.json', dir);
    if (id >= vocab)
      refuse(
        `${dir}tokenizer.json: ${content} is id ${id}, beyond ${whose} vocab_size ${vocab}`,
        'tokenizer.json',
        dir,
      );
    out[k] = id;
  }
  for (const [k, content] of Object.entries(TAGS)) out[k] = added.get(content) ?? null;
  const top = tokenizerTopId(t);
  if (top >= vocab)
    refuse(`${dir}tokenizer.json has token id ${top}, beyond ${whose} vocab_size ${vocab}`, 'tokenizer.json', dir);
  return out as SpecialTokens;
}

/** The end-of-sequence ids: generation_config.json's (else config.json's), with `<|im_end|>` always among them. */
export function eosIds(generation: unknown, config: unknown, imEnd: number): number[] {
  const pick = (o: unknown): unknown =>
    typeof o === 'object' && o !== null ? (o as Record<string, unknown>).eos_token_id : undefined;
  const raw = pick(generation) ?? pick(config);
  const list = (Array.isArray(raw) ? raw : [raw]).filter((x): x is number => Number.isInteger(x) && (x as number) >= 0);
  return [...new Set([...list, imEnd])];
}

/** The pack's config.json: the mllm's text decoder as transformers writes a Qwen2ForCausalLM config. */
export function qwen2TextConfig(d: Qwen2Dims, eos: number[], st: SpecialTokens): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: d.vocab_size,
    hidden_size: d.hidden_size,
    intermediate_size: d.intermediate_size,
    num_hidden_layers: d.num_hidden_layers,
    num_attention_heads: d.num_attention_heads,
    num_key_value_heads: d.num_key_value_heads,
    head_dim: d.head_dim,
    max_position_embeddings: d.max_position_embeddings,
    rope_theta: d.rope_theta,
    rms_norm_eps: d.rms_norm_eps,
    tie_word_embeddings: d.tie_word_embeddings,
    bos_token_id: st.endoftext,
    eos_token_id: eos.length === 1 ? eos[0] : eos,
  };
}

/** The reasoner's manifest config: MindOmni's conditioning (pre-norm rows, `</answer>` row), no vision tower. */
export function mindomniReasonerConfig(d: Qwen2Dims, st: SpecialTokens, eos: number[]): ReasonerConfig {
  return {
    vocab_size: d.vocab_size,
    hidden_size: d.hidden_size,
    num_hidden_layers: d.num_hidden_layers,
    num_attention_heads: d.num_attention_heads,
    num_key_value_heads: d.num_key_value_heads,
    head_dim: d.head_dim,
    intermediate_size: d.intermediate_size,
    max_position_embeddings: d.max_position_embeddings,
    rope_theta: d.rope_theta,
    rms_norm_eps: d.rms_norm_eps,
    tie_word_embeddings: d.tie_word_embeddings,
    attention_bias: d.attention_bias,
    vision: null,
    image_token: REQUIRED_TOKENS.image,
    image_token_id: st.image,
    // No vision tower: no image is ever expanded (an image is refused first).
    num_image_tokens: 1,
    bos_token_id: null,
    eos_token_ids: eos,
    pad_token_id: st.endoftext,
    special_tokens: st,
    condition_hidden: 'pre_norm',
    condition_answer_end_row: true,
  };
}

/** The sizes the painter runs: up to app.py's 2048 and the position table's reach, in steps of VAE × patch. */
export function mindomniSizes(
  painter: PainterConfig,
  vae: VaeConfig,
): { unit: number; min: number; def: number; max: number } {
  const unit = vae.downscale * painter.patch_size;
  const reach = painter.pos_embed_max_size > 0 ? painter.pos_embed_max_size * unit : APP.maxSize;
  const max = Math.floor(Math.min(APP.maxSize, reach) / unit) * unit;
  const def = Math.floor(Math.min(DEFAULT_SIZE, max) / unit) * unit;
  const min = Math.min(APP.minSize, Math.max(unit, Math.floor(def / 4 / unit) * unit));
  return { unit, min, def, max };
}

/** The plan's device side for `requirements.memory_bytes`: no limit, so the figure is the pack's own need. */
const UNLIMITED: DeviceAllowance = {
  maxBufferSize: Number.MAX_SAFE_INTEGER,
  maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER,
  features: [],
  budgetBytes: Number.MAX_SAFE_INTEGER,
  budgetSource: 'default',
};

export interface MindOmniPackInput {
  weights: WeightVariant;
  reasoner: Qwen2Dims;
  specialTokens: SpecialTokens;
  eos: number[];
  /** MindOmni's connector; null for the `cascade` kind (then `painterText` is given). */
  connector: ConnectorConfig | null;
  painter: PainterConfig;
  /** The `cascade` kind: the painter's own tokenizer files and embedding rows (docs/cascade.md). */
  painterText?: { tokenizer: string; tokenizerConfig: string; vocab: number };
  vae: VaeConfig;
  /** Every file written so far (manifest.json excluded), as the converter hashed them. */
  files: FileEntry[];
  paths: {
    reasoner: string;
    painter: string;
    painterConfig: string;
    vaeConfig: string;
    vaeDecoder: string;
    vaeEncoder: string;
  };
}

/**
 * The manifest of a converted MindOmni checkpoint (or, with `painterText`, of a `cascade` pack: a Qwen2-family
 * reasoner and OmniGen's painter reading its own embeddings of the answer), validated as any pack's.
 */
export function mindomniManifest(p: MindOmniPackInput, meta: PackMeta = {}): Manifest {
  const size = mindomniSizes(p.painter, p.vae);
  const bytesOf = (path: string) => p.files.find((f) => f.path === path)?.bytes ?? 0;
  const total = p.files.reduce((a, f) => a + f.bytes, 0);
  const cascade = p.painterText ?? null;
  const id = meta.id ?? `${cascade ? 'cascade' : 'mindomni'}-${p.weights}`;
  const from = meta.source ? ` from ${meta.source}` : '';
  const raw = {
    format: 'rg-vlm-pack',
    format_version: 1,
    id,
    name:
      meta.name ??
      (cascade ? `Qwen2 thinker + OmniGen (${p.weights}, converted)` : `MindOmni (${p.weights}, converted)`),
    description: cascade
      ? `A cascade pack converted by rg-vlm-web${from} to ${p.weights}: a Qwen2-family text model thinks (no vision ` +
        "tower, so the pack reads no images); OmniGen's image decoder paints from its own token embeddings of the " +
        'answer (no connector, no hidden states cross); the SDXL VAE decodes. Runs on WebGPU only.'
      : `MindOmni converted by rg-vlm-web${from} to ${p.weights}: the mllm's Qwen2.5-VL text decoder thinks ` +
        "(its vision tower is not converted, so the pack reads no images), the connector and OmniGen's image " +
        'decoder paint, the SDXL VAE decodes. Runs on WebGPU only.',
    licence: meta.licence ?? "the checkpoint's own (not read by the converter)",
    source: meta.source ?? '',
    files: p.files,
    total_bytes: total,
    paths: {
      config: CONFIG_FILE,
      generation_config: GENERATION_CONFIG_FILE,
      tokenizer: 'tokenizer.json',
      tokenizer_config: 'tokenizer_config.json',
      painter_config: p.paths.painterConfig,
      vae_config: p.paths.vaeConfig,
      vae_encoder: p.paths.vaeEncoder,
      vae_decoder: p.paths.vaeDecoder,
      reasoner_weights: { [p.weights]: p.paths.reasoner },
      painter_weights: { [p.weights]: p.paths.painter },
    },
    reasoner: mindomniReasonerConfig(p.reasoner, p.specialTokens, p.eos),
    connector: p.connector,
    painter: p.painter,
    ...(cascade
      ? {
          painter_text: {
            tokenizer: cascade.tokenizer,
            tokenizer_config: cascade.tokenizerConfig,
            template_prefix: OMNIGEN_TEMPLATE_PREFIX,
            template_suffix: OMNIGEN_TEMPLATE_SUFFIX,
            vocab_size: cascade.vocab,
          },
        }
      : {}),
    vae: p.vae,
    prompts: {
      system_cot: SYSTEM_PROMPT_COT,
      system_plain: SYSTEM_PROMPT_PLAIN,
      instruction_prefix: INSTRUCTION_PREFIX,
      // A cascade pack's negative branch is OmniGen's own: its negative text in its template (the reasoner is not run).
      negative_prompt: cascade ? NEGATIVE_PROMPT_OMNIGEN : NEGATIVE_PROMPT_MINDOMNI,
      negative_instruction_prefix: true,
    },
    defaults: {
      steps: APP.steps,
      guidance: APP.guidance,
      width: size.def,
      height: size.def,
      seed: APP.seed,
      cot: true,
      max_new_tokens: APP.maxNewTokens,
      edit_strength: 0.6,
    },
    limits: { min_size: size.min, max_size: size.max, size_multiple: size.unit, max_steps: APP.maxSteps },
    requirements: {
      gpu_features: [],
      weights_bytes: bytesOf(p.paths.reasoner) + bytesOf(p.paths.painter),
      memory_bytes: 0,
    },
  };
  let m: Manifest;
  try {
    m = parseManifest(raw);
  } catch (e) {
    throw new RgError(
      'UNSUPPORTED_PACK',
      `the converted ${cascade ? 'cascade' : 'MindOmni'} folder is not a pack we can open: ${(e as Error).message}`,
      {
        field: 'manifest.json',
        hint: 'The weights were converted, but the studio cannot open them as a pack.',
        cause: e,
      },
    );
  }
  // The pack's own need, not a device's verdict: the kernels' limits are the app's to check at load (the converter
  // may not import models), so the plan is told the pack's own head sizes and vocabulary (no decode partials counted).
  const support: KernelSupport = {
    headDims: [m.reasoner.head_dim, m.connector?.head_dim ?? m.painter.head_dim, m.painter.head_dim],
    maxVocab: m.reasoner.vocab_size,
  };
  const plan = planMemory(planInputOf(m), {}, UNLIMITED, support);
  return { ...m, requirements: { ...m.requirements, memory_bytes: plan.totalBytes } };
}
