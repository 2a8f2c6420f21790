/**
 * @file The pack manifest (`manifest.json`) and model configs: zod schemas, the TypeScript types the runtime uses,
 * and parse functions that turn a bad file into a clear RgError. Field names are the JSON names written by
 * tools/make_tiny_random.py (tools/rgvlm/config.py); see docs/formats.md for what they mean.
 */
import { z } from 'zod';
import { RgError } from '../errors';

const pos = z.number().int().positive();
const nonneg = z.number().int().nonnegative();
const finite = z.number().finite();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
/**
 * A path inside the pack: relative, forward slashes, segments of letters, digits, `.`, `_` and `-` only, never `.` or
 * `..`. So no leading slash, backslash, scheme (`https:`), query, or percent-encoding (`%2e%2e`) can reach a URL or
 * a store key built from it.
 */
const PACK_SEGMENT = /^[A-Za-z0-9_.-]+$/;
const packPath = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => p.split('/').every((s) => PACK_SEGMENT.test(s) && s !== '.' && s !== '..'), {
    message: 'a relative path inside the pack (letters, digits, . _ - and /; no .., no scheme, no %-escapes)',
  });

/**
 * Upper bounds of the integers that size allocations (weights, KV cache, activations, images), so a hostile or
 * broken manifest is refused with the field named instead of asking for gigabytes. Each bound is far above the real
 * models the engines target (Qwen2.5-7B: vocab 152,064, hidden 3,584, intermediate 18,944, 28 layers; OmniGen:
 * hidden 3,072, 32 layers; contexts of 32,768 tokens).
 */
export const CONFIG_BOUNDS = {
  vocab: 262_144,
  hidden: 16_384,
  intermediate: 65_536,
  layers: 256,
  heads: 256,
  headDim: 256,
  positions: 131_072,
  imageSize: 4_096,
  patch: 64,
  channels: 64,
  tokens: 65_536,
  steps: 1_000,
  fileBytes: 2 ** 40,
} as const;
const upTo = (max: number) => pos.max(max, `at most ${max.toLocaleString('en-US')}`);
const upToNonneg = (max: number) => nonneg.max(max, `at most ${max.toLocaleString('en-US')}`);

export const FileEntrySchema = z.strictObject({ path: packPath, bytes: upToNonneg(CONFIG_BOUNDS.fileBytes), sha256 });
export type FileEntry = z.infer<typeof FileEntrySchema>;

export const VisionConfigSchema = z.strictObject({
  image_size: upTo(CONFIG_BOUNDS.imageSize),
  patch_size: upTo(CONFIG_BOUNDS.patch),
  num_channels: upTo(4),
  hidden_size: upTo(CONFIG_BOUNDS.hidden),
  num_hidden_layers: upTo(CONFIG_BOUNDS.layers),
  num_attention_heads: upTo(CONFIG_BOUNDS.heads),
  intermediate_size: upTo(CONFIG_BOUNDS.intermediate),
  layer_norm_eps: finite.positive(),
  /** pixel_values = (pixel / 255 − mean) / std, NCHW RGB */
  image_mean: z.array(finite).length(3),
  image_std: z.array(finite.positive()).length(3),
  num_patches: upTo(CONFIG_BOUNDS.tokens),
});
export type VisionConfig = z.infer<typeof VisionConfigSchema>;

/**
 * Special token ids. The four tags may be null: in a tokenizer without them as added tokens (Qwen2.5's, which
 * MindOmni uses) `<think>`, `</think>`, `<answer>` and `</answer>` are ordinary text, so the stream finds them in
 * the decoded text and generation stops at the end-of-sequence tokens only.
 */
export const SpecialTokensSchema = z.strictObject({
  endoftext: nonneg,
  im_start: nonneg,
  im_end: nonneg,
  think_start: nonneg.nullable(),
  think_end: nonneg.nullable(),
  answer_start: nonneg.nullable(),
  answer_end: nonneg.nullable(),
  image: nonneg,
});
export type SpecialTokens = z.infer<typeof SpecialTokensSchema>;

/** The reasoner (Qwen2-style decoder + ViT + llava projector). Runs in onnxruntime-web. */
export const ReasonerConfigSchema = z
  .strictObject({
    vocab_size: upTo(CONFIG_BOUNDS.vocab),
    hidden_size: upTo(CONFIG_BOUNDS.hidden),
    num_hidden_layers: upTo(CONFIG_BOUNDS.layers),
    num_attention_heads: upTo(CONFIG_BOUNDS.heads),
    num_key_value_heads: upTo(CONFIG_BOUNDS.heads),
    head_dim: upTo(CONFIG_BOUNDS.headDim),
    intermediate_size: upTo(CONFIG_BOUNDS.intermediate),
    max_position_embeddings: upTo(CONFIG_BOUNDS.positions),
    rope_theta: finite.positive(),
    rms_norm_eps: finite.positive(),
    tie_word_embeddings: z.boolean(),
    attention_bias: z.boolean(),
    /**
     * The vision tower (the ViT + projector, `paths.vision_encoder`); null: the pack has none, so it reads no images
     * (Understand answers text only; Edit and an image in Imagine are refused with the reason).
     */
    vision: VisionConfigSchema.nullable(),
    image_token: z.string().min(1),
    image_token_id: nonneg,
    /** `<image>` in the prompt expands to this many image tokens (= vision.num_patches). */
    num_image_tokens: upTo(CONFIG_BOUNDS.tokens),
    bos_token_id: nonneg.nullable(),
    eos_token_ids: z.array(nonneg).min(1),
    pad_token_id: nonneg,
    special_tokens: SpecialTokensSchema,
    /**
     * The painter's condition rows (docs/formats.md "Reasoner conditioning"). MindOmni (the default): the last
     * decoder layer's output before the final norm; 'post_norm': after it (ORT's `last_hidden_state`), as the
     * shipped shapes pack was trained.
     */
    condition_hidden: z.enum(['pre_norm', 'post_norm']).default('pre_norm'),
    /** Whether a closing `</answer>` gets its own condition row (MindOmni generates on to `<|im_end|>`). */
    condition_answer_end_row: z.boolean().default(true),
  })
  .refine((c) => c.num_attention_heads % c.num_key_value_heads === 0, 'num_attention_heads % num_key_value_heads')
  .refine(
    (c) => c.vision === null || c.num_image_tokens === c.vision.num_patches,
    'num_image_tokens must equal vision.num_patches',
  )
  .refine(
    (c) => c.image_token_id < c.vocab_size && c.eos_token_ids.every((t) => t < c.vocab_size),
    'token ids < vocab',
  );
export type ReasonerConfig = z.infer<typeof ReasonerConfigSchema>;

const phi3Fields = {
  hidden_size: upTo(CONFIG_BOUNDS.hidden),
  num_hidden_layers: upTo(CONFIG_BOUNDS.layers),
  num_attention_heads: upTo(CONFIG_BOUNDS.heads),
  num_key_value_heads: upTo(CONFIG_BOUNDS.heads),
  /** Our attention kernel supports 32, 64, 96 (OmniGen's) and 128. */
  head_dim: z.union([z.literal(32), z.literal(64), z.literal(96), z.literal(128)]),
  intermediate_size: upTo(CONFIG_BOUNDS.intermediate),
  rope_theta: finite.positive(),
  rms_norm_eps: finite.positive(),
  /**
   * Phi-3's LongRoPE (OmniGen-v1's config; "su" is its old name): per-frequency divisors of inv_freq, `short_factor`
   * while a sequence's positions stay within `original_max_position_embeddings`, `long_factor` past it; cos and sin
   * scaled by √(1 + ln(max / original) / ln(original)). Absent or null: plain RoPE.
   */
  rope_scaling: z
    .strictObject({
      type: z.enum(['longrope', 'su']),
      short_factor: z.array(finite.positive()),
      long_factor: z.array(finite.positive()),
    })
    .nullish(),
  original_max_position_embeddings: pos.min(2).max(CONFIG_BOUNDS.positions).optional(),
  max_position_embeddings: upTo(CONFIG_BOUNDS.positions).optional(),
};

/** LongRoPE's fields: both factor lists head_dim / 2 long, both lengths given. */
function refineRopeScaling(
  c: { head_dim: number; rope_scaling?: { short_factor: number[]; long_factor: number[] } | null } & Partial<
    Record<'original_max_position_embeddings' | 'max_position_embeddings', number>
  >,
  ctx: z.RefinementCtx,
): void {
  if (!c.rope_scaling) return;
  for (const k of ['short_factor', 'long_factor'] as const) {
    const n = c.rope_scaling[k].length;
    if (n !== c.head_dim / 2)
      ctx.addIssue({
        code: 'custom',
        message: `holds ${n} factors but head_dim / 2 = ${c.head_dim / 2} are needed`,
        path: ['rope_scaling', k],
      });
  }
  for (const k of ['original_max_position_embeddings', 'max_position_embeddings'] as const) {
    if (c[k] === undefined)
      ctx.addIssue({ code: 'custom', message: 'is required with rope_scaling (LongRoPE)', path: [k] });
  }
}

/**
 * Connector: Linear(input_size → hidden_size, with bias) + Phi-3 layers (causal), no final norm (MindOmni);
 * `final_norm: true` adds the RMSNorm `connector.norm` after the layers (the shipped shapes pack).
 */
export const ConnectorConfigSchema = z
  .strictObject({ input_size: upTo(CONFIG_BOUNDS.hidden), ...phi3Fields, final_norm: z.boolean().default(false) })
  .refine((c) => c.num_attention_heads % c.num_key_value_heads === 0, 'num_attention_heads % num_key_value_heads')
  .superRefine(refineRopeScaling);
export type ConnectorConfig = z.infer<typeof ConnectorConfigSchema>;

/** The OmniGen-style painter over [condition][time token][latent patches]. */
export const PainterConfigSchema = z
  .strictObject({
    ...phi3Fields,
    latent_channels: upTo(CONFIG_BOUNDS.channels),
    patch_size: upTo(CONFIG_BOUNDS.patch),
    /** sinusoidal timestep features (cos half first), fed t · timestep_scale (OmniGen: t unscaled) */
    timestep_freq_dim: upTo(CONFIG_BOUNDS.hidden),
    timestep_scale: finite.positive().default(1),
    /**
     * 'separate' (OmniGen, the default): `painter.time_token` embeds the sequence's time token and
     * `painter.t_embedder` the final layer's adaLN input; 'shared': one `painter.t_embedder` (linear_1 / linear_2)
     * for both, as the shipped shapes pack was trained.
     */
    time_embedders: z.enum(['separate', 'shared']).default('separate'),
    timestep_max_period: finite.positive(),
    /** eps of the final layer's LayerNorm (no affine) */
    final_norm_eps: finite.positive(),
    /** 2D sin-cos: coordinate = (index + offset) · pos_embed_scale; offset = (max − grid) // 2 when max > 0 */
    pos_embed_max_size: upToNonneg(CONFIG_BOUNDS.imageSize),
    pos_embed_scale: finite.positive(),
    pos_embed_base: finite.positive(),
  })
  .refine((c) => c.num_attention_heads % c.num_key_value_heads === 0, 'num_attention_heads % num_key_value_heads')
  .refine((c) => c.hidden_size % 4 === 0, 'hidden_size % 4 (2D sin-cos)')
  .refine((c) => c.timestep_freq_dim % 2 === 0, 'timestep_freq_dim even')
  .superRefine(refineRopeScaling);
export type PainterConfig = z.infer<typeof PainterConfigSchema>;

export const VaeConfigSchema = z.strictObject({
  in_channels: upTo(4),
  latent_channels: upTo(CONFIG_BOUNDS.channels),
  downscale: upTo(CONFIG_BOUNDS.patch),
  block_channels: z.array(upTo(CONFIG_BOUNDS.hidden)).min(1).max(8),
  /** decoder input = z / scaling_factor + shift_factor; x1 = (mean − shift_factor) · scaling_factor */
  scaling_factor: finite.positive(),
  shift_factor: finite,
});
export type VaeConfig = z.infer<typeof VaeConfigSchema>;

export const WeightVariantSchema = z.enum(['f32', 'f16', 'bf16', 'int8', 'int4']);
export type WeightVariant = z.infer<typeof WeightVariantSchema>;

export const PackPathsSchema = z.strictObject({
  config: packPath,
  generation_config: packPath,
  /** The image preprocessing and processor configs: with a vision tower only. */
  preprocessor_config: packPath.optional(),
  processor_config: packPath.optional(),
  tokenizer: packPath,
  tokenizer_config: packPath,
  painter_config: packPath,
  vae_config: packPath,
  /** The vision tower's ONNX graph: present exactly when `reasoner.vision` is. */
  vision_encoder: packPath.optional(),
  /**
   * The reasoner's ONNX graphs for onnxruntime-web (the onnx-community layout): both or neither. Without them (a pack
   * converted from a checkpoint) the reasoner runs only as our WGSL engine from `reasoner_weights`, so on WebGPU only.
   */
  embed_tokens: packPath.optional(),
  decoder: packPath.optional(),
  /**
   * The reasoner's text decoder as safetensors (HF-style names, docs/formats.md): the WGSL engine's weights on
   * WebGPU. One path (F32, the original form) or one path per stored variant like `painter_weights`. Without it the
   * reasoner runs `decoder` on onnxruntime-web everywhere.
   */
  reasoner_weights: z.union([packPath, z.partialRecord(WeightVariantSchema, packPath)]).optional(),
  vae_encoder: packPath,
  vae_decoder: packPath,
  /** The full painter (connector included) as one ONNX graph: the reference / benchmark path. */
  painter_onnx: packPath.optional(),
  painter_weights: z.partialRecord(WeightVariantSchema, packPath),
});
export type PackPaths = z.infer<typeof PackPathsSchema>;

/**
 * The reasoner's vision tower config, or BAD_INPUT (field `image`) saying the pack reads no images: every path that
 * takes an image (Understand with one, Edit, an image in Imagine) asks here first, before any work.
 */
export function requireVision(r: ReasonerConfig, packId: string): VisionConfig {
  if (r.vision) return r.vision;
  throw new RgError('BAD_INPUT', `The pack ${packId} has no vision tower, so it cannot read images.`, {
    field: 'image',
    hint:
      'Ask without an image, or choose a pack that reads images. (Qwen2.5-VL’s vision tower is not converted yet, ' +
      'so packs converted from MindOmni or Qwen2 checkpoints have none.)',
  });
}

/** The reasoner weight files by variant: a single path is the F32 file. */
export function reasonerWeightPaths(paths: PackPaths): Partial<Record<WeightVariant, string>> {
  const r = paths.reasoner_weights;
  return r === undefined ? {} : typeof r === 'string' ? { f32: r } : r;
}

export const DefaultsSchema = z.strictObject({
  steps: upTo(CONFIG_BOUNDS.steps),
  guidance: finite.nonnegative(),
  width: upTo(CONFIG_BOUNDS.imageSize),
  height: upTo(CONFIG_BOUNDS.imageSize),
  seed: nonneg,
  cot: z.boolean(),
  max_new_tokens: upTo(CONFIG_BOUNDS.positions),
  edit_strength: finite.min(0).max(1),
});
export type Defaults = z.infer<typeof DefaultsSchema>;

/**
 * Rewards a pack declares for the RGPO lab. `checker: 'shapes'`: the verifiable accuracy reward of the shapes world
 * (src/pipeline/rgpo/shapes_checker.ts). `similarity`: an image–text similarity model (CLIP in the paper) as one
 * ONNX graph with inputs input_ids / attention_mask (int64 [1, L]) and pixel_values (f32 [1, 3, S, S]) and output
 * logits_per_image ([1, 1], logit_scale · cos); its tokenizer.json; preprocessing as in preprocessor_config.
 */
export const RewardsSchema = z.strictObject({
  checker: z.literal('shapes').optional(),
  similarity: z
    .strictObject({
      model: packPath,
      tokenizer: packPath,
      image_size: upTo(CONFIG_BOUNDS.imageSize),
      image_mean: z.array(finite).length(3),
      image_std: z.array(finite.positive()).length(3),
      max_length: upTo(CONFIG_BOUNDS.positions),
    })
    .optional(),
});
export type Rewards = z.infer<typeof RewardsSchema>;

/** Bounds on the texts a manifest shows where the user types (short one-click fills, not documents). */
const MAX_HINT_CHARS = 500;
const MAX_EXAMPLES = 20;
const hintText = z.string().min(1).max(MAX_HINT_CHARS);
/** A kind of input's placeholder and one-click examples (manifest `inputs`). */
export const InputHintSchema = z.strictObject({
  placeholder: hintText.optional(),
  examples: z.array(hintText).max(MAX_EXAMPLES).optional(),
});

export const ManifestSchema = z
  .strictObject({
    format: z.literal('rg-vlm-pack'),
    format_version: z.literal(1),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    name: z.string().min(1),
    description: z.string(),
    licence: z.string().min(1),
    source: z.string(),
    files: z.array(FileEntrySchema).min(1).max(10_000),
    total_bytes: nonneg,
    paths: PackPathsSchema,
    reasoner: ReasonerConfigSchema,
    /** MindOmni's connector (the `mindomni` kind); null for the `cascade` kind, whose painter reads `painter_text`. */
    connector: ConnectorConfigSchema.nullable(),
    painter: PainterConfigSchema,
    /**
     * The `cascade` kind (docs/cascade.md): the painter is conditioned by its own token embeddings of a text (OmniGen's
     * native conditioning), not by the reasoner's hidden states. The text is the reasoner's answer wrapped as
     * `template_prefix` + text + `template_suffix`, tokenized by the painter's own tokenizer (its post-processor adds
     * what the model expects, e.g. BOS), each id's row of `painter.embed_tokens` ([vocab_size, painter.hidden_size]
     * in the painter weights) one condition row. The negative branch wraps `prompts.negative_prompt` the same way.
     */
    painter_text: z
      .strictObject({
        tokenizer: packPath,
        tokenizer_config: packPath,
        template_prefix: z.string(),
        template_suffix: z.string(),
        vocab_size: upTo(CONFIG_BOUNDS.vocab),
      })
      .optional(),
    vae: VaeConfigSchema,
    prompts: z.strictObject({
      system_cot: z.string(),
      system_plain: z.string(),
      instruction_prefix: z.string(),
      negative_prompt: z.string(),
      /**
       * MindOmni (app.py, the default): the negative user turn is `instruction_prefix` + `negative_prompt`;
       * false: `negative_prompt` alone (the shipped shapes pack).
       */
      negative_instruction_prefix: z.boolean().default(true),
    }),
    defaults: DefaultsSchema,
    limits: z.strictObject({
      min_size: upTo(CONFIG_BOUNDS.imageSize),
      max_size: upTo(CONFIG_BOUNDS.imageSize),
      size_multiple: upTo(256),
      max_steps: upTo(CONFIG_BOUNDS.steps),
    }),
    requirements: z.strictObject({
      /** WebGPU features the pack needs (e.g. 'shader-f16' for f16 weights). */
      gpu_features: z.array(z.string()),
      weights_bytes: nonneg,
      /** A rough upper bound of memory needed (weights + KV cache at max positions + painter activations). */
      memory_bytes: nonneg,
    }),
    stats: z.looseObject({}).optional(),
    /** RGPO lab rewards the pack supplies (src/pipeline/rgpo/); absent: the format reward only. */
    rewards: RewardsSchema.optional(),
    /**
     * Example prompts (text to image: Imagine, Compare, RGPO) the studio offers as one-click fills; the first is
     * Compare's starting prompt (optional; none shown when absent).
     */
    examples: z.array(z.string().min(1).max(MAX_HINT_CHARS)).max(MAX_EXAMPLES).optional(),
    /**
     * What the pack can do, shown where the user types: a placeholder per kind of input (the prompt of Imagine,
     * Compare and RGPO; Edit's instruction; Understand's question), and example instructions and questions.
     * Optional; src/packs/defaults.ts fills generic placeholders and no examples.
     */
    inputs: z
      .strictObject({
        prompt: z.strictObject({ placeholder: hintText.optional() }).optional(),
        instruction: InputHintSchema.optional(),
        question: InputHintSchema.optional(),
      })
      .optional(),
    /**
     * How the pack declines a request it cannot paint: an answer (the reasoner's `<answer>`, trimmed) that starts
     * with `answer_prefix` is a refusal, and the pipelines return it as the result's `refusal` so the studio shows
     * the text rather than the picture (src/pipeline/refusal.ts). Absent: no answer is a refusal.
     */
    refusal: z.strictObject({ answer_prefix: hintText }).optional(),
  })
  .superRefine((m, ctx) => {
    const listed = new Set(m.files.map((f) => f.path));
    if (listed.size !== m.files.length)
      ctx.addIssue({ code: 'custom', message: 'duplicate file paths', path: ['files'] });
    const sum = m.files.reduce((a, f) => a + f.bytes, 0);
    if (sum !== m.total_bytes)
      ctx.addIssue({ code: 'custom', message: `total_bytes ${m.total_bytes} ≠ ${sum}`, path: ['total_bytes'] });
    for (const p of packPaths(m.paths)) {
      if (!listed.has(p))
        ctx.addIssue({ code: 'custom', message: `paths names ${p}, which files does not list`, path: ['paths'] });
    }
    for (const p of m.rewards?.similarity ? [m.rewards.similarity.model, m.rewards.similarity.tokenizer] : []) {
      if (!listed.has(p))
        ctx.addIssue({ code: 'custom', message: `rewards names ${p}, which files does not list`, path: ['rewards'] });
    }
    const visionPaths = (['vision_encoder', 'preprocessor_config', 'processor_config'] as const).filter(
      (k) => m.paths[k] !== undefined,
    );
    if (m.reasoner.vision && visionPaths.length < 3)
      ctx.addIssue({
        code: 'custom',
        message: 'reasoner.vision needs paths.vision_encoder, preprocessor_config and processor_config',
        path: ['paths'],
      });
    if (!m.reasoner.vision && visionPaths.length > 0)
      ctx.addIssue({
        code: 'custom',
        message: `paths.${visionPaths[0]} is given but reasoner.vision is null (no vision tower)`,
        path: ['paths', visionPaths[0]!],
      });
    if ((m.paths.embed_tokens === undefined) !== (m.paths.decoder === undefined))
      ctx.addIssue({
        code: 'custom',
        message: "paths.embed_tokens and paths.decoder (the reasoner's ONNX graphs) go together: both or neither",
        path: ['paths', m.paths.decoder === undefined ? 'decoder' : 'embed_tokens'],
      });
    if (m.paths.decoder === undefined && Object.keys(reasonerWeightPaths(m.paths)).length === 0)
      ctx.addIssue({
        code: 'custom',
        message: 'the reasoner needs its ONNX graphs (paths.embed_tokens, paths.decoder) or paths.reasoner_weights',
        path: ['paths', 'reasoner_weights'],
      });
    if (m.connector && m.connector.input_size !== m.reasoner.hidden_size)
      ctx.addIssue({ code: 'custom', message: 'connector.input_size ≠ reasoner.hidden_size', path: ['connector'] });
    if (m.connector && m.connector.hidden_size !== m.painter.hidden_size)
      ctx.addIssue({ code: 'custom', message: 'connector.hidden_size ≠ painter.hidden_size', path: ['connector'] });
    if (!m.connector === !m.painter_text)
      ctx.addIssue({
        code: 'custom',
        message: m.connector
          ? 'a pack has a connector (the mindomni kind) or painter_text (the cascade kind), not both'
          : 'a pack without a connector needs painter_text (the cascade kind): the painter has no other condition',
        path: [m.connector ? 'painter_text' : 'connector'],
      });
    for (const p of m.painter_text ? [m.painter_text.tokenizer, m.painter_text.tokenizer_config] : []) {
      if (!listed.has(p))
        ctx.addIssue({
          code: 'custom',
          message: `painter_text names ${p}, which files does not list`,
          path: ['painter_text'],
        });
    }
    if (m.painter.latent_channels !== m.vae.latent_channels)
      ctx.addIssue({ code: 'custom', message: 'painter.latent_channels ≠ vae.latent_channels', path: ['painter'] });
    const unit = m.vae.downscale * m.painter.patch_size;
    if (m.limits.size_multiple % unit !== 0)
      ctx.addIssue({ code: 'custom', message: `size_multiple must be a multiple of ${unit}`, path: ['limits'] });
    for (const k of ['width', 'height'] as const) {
      const v = m.defaults[k];
      if (v % m.limits.size_multiple !== 0 || v < m.limits.min_size || v > m.limits.max_size)
        ctx.addIssue({ code: 'custom', message: `defaults.${k} ${v} outside limits`, path: ['defaults', k] });
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;

/** Every file path the manifest's `paths` refers to. */
export function packPaths(paths: PackPaths): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(paths)) {
    if (k === 'painter_weights' || (k === 'reasoner_weights' && typeof v === 'object'))
      out.push(...Object.values(v as Record<string, string>));
    else if (typeof v === 'string') out.push(v);
  }
  return out;
}

// ------------------------------------------------------------------------------------------ HF-style config files
/** The fields of a Qwen2 text config that the manifest's reasoner must agree with (`crossCheck`). */
const qwen2TextFields = {
  model_type: z.literal('qwen2'),
  vocab_size: pos,
  hidden_size: pos,
  intermediate_size: pos,
  num_hidden_layers: pos,
  num_attention_heads: pos,
  num_key_value_heads: pos,
  max_position_embeddings: pos,
  rope_theta: finite.positive(),
  rms_norm_eps: finite.positive(),
  tie_word_embeddings: z.boolean(),
};

/** `config.json`: llava (so transformers.js can load the same ONNX files) with a qwen2 text_config. */
export const LlavaConfigSchema = z.looseObject({
  model_type: z.literal('llava'),
  architectures: z.array(z.string()),
  image_token_index: nonneg,
  image_seq_length: pos,
  text_config: z.looseObject({ ...qwen2TextFields, head_dim: pos }),
  vision_config: z
    .looseObject({
      hidden_size: pos,
      image_size: pos,
      patch_size: pos,
      num_hidden_layers: pos,
      num_attention_heads: pos,
      intermediate_size: pos,
    })
    .optional(),
});
export type LlavaConfig = z.infer<typeof LlavaConfigSchema>;

/**
 * `config.json` of a pack converted from a checkpoint (src/convert/): the text decoder's own Qwen2 config, as
 * transformers writes it for Qwen2ForCausalLM (head_dim, when absent, is hidden_size / num_attention_heads).
 */
export const Qwen2TextConfigSchema = z.looseObject({
  ...qwen2TextFields,
  architectures: z.array(z.string()),
  head_dim: pos.optional(),
});
export type Qwen2TextConfig = z.infer<typeof Qwen2TextConfigSchema>;

/** A pack's `config.json`: llava (packs with ONNX graphs) or a converted pack's Qwen2 text config. */
export const PackConfigSchema = z.union([LlavaConfigSchema, Qwen2TextConfigSchema]);

export const GenerationConfigSchema = z.looseObject({
  eos_token_id: z.union([nonneg, z.array(nonneg)]),
  pad_token_id: nonneg.nullable().optional(),
  bos_token_id: nonneg.nullable().optional(),
  max_new_tokens: pos.optional(),
});

export const PreprocessorConfigSchema = z.looseObject({
  do_resize: z.boolean(),
  size: z.strictObject({ height: pos, width: pos }),
  do_rescale: z.boolean(),
  rescale_factor: finite.positive(),
  do_normalize: z.boolean(),
  image_mean: z.array(finite).length(3),
  image_std: z.array(finite.positive()).length(3),
});

export const ProcessorConfigSchema = z.looseObject({
  processor_class: z.string(),
  image_token: z.string(),
  patch_size: pos,
  num_additional_image_tokens: nonneg,
});

export const TokenizerConfigSchema = z.looseObject({
  chat_template: z.string().min(1),
  eos_token: z.string().nullable(),
  pad_token: z.string().nullable().optional(),
  added_tokens_decoder: z.record(z.string(), z.looseObject({ content: z.string(), special: z.boolean() })),
});

/** `tokenizer.json`: only what we rely on (a byte-level BPE with special added tokens). */
export const TokenizerJsonSchema = z.looseObject({
  added_tokens: z.array(z.looseObject({ id: nonneg, content: z.string(), special: z.boolean() })),
  model: z.looseObject({
    type: z.literal('BPE'),
    vocab: z.record(z.string(), nonneg),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])),
  }),
  pre_tokenizer: z.looseObject({ type: z.string() }).nullable(),
  decoder: z.looseObject({ type: z.string() }).nullable(),
});

export const PainterConfigFileSchema = z.strictObject({
  _class_name: z.string(),
  connector: ConnectorConfigSchema.nullable(),
  painter: PainterConfigSchema,
  weights: z.partialRecord(WeightVariantSchema, packPath),
});
export type PainterConfigFile = z.infer<typeof PainterConfigFileSchema>;

export const VaeConfigFileSchema = VaeConfigSchema.extend({ _class_name: z.string() });

/** The largest token id `tokenizer.json` can produce (its vocabulary's or an added token's). */
export function tokenizerTopId(t: z.infer<typeof TokenizerJsonSchema>): number {
  let top = -1;
  for (const id of Object.values(t.model.vocab)) if (id > top) top = id;
  for (const a of t.added_tokens) if (a.id > top) top = a.id;
  return top;
}

// ------------------------------------------------------------------------------------------ parsing
function describe(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Parses `json` with `schema`; a mismatch becomes RgError('INTEGRITY') naming the file and the first issues. */
export function parseWith<T extends z.ZodType>(schema: T, json: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(json);
  if (!r.success) {
    throw new RgError('INTEGRITY', `${what} is not valid: ${describe(r.error)}`, {
      hint: 'The model pack is damaged or from an incompatible version; re-download it.',
    });
  }
  return r.data;
}

export function parseManifest(json: unknown): Manifest {
  return parseWith(ManifestSchema, json, 'manifest.json');
}

/** The config files of a pack, keyed by the manifest `paths` key, with the schema each must satisfy. */
export const CONFIG_FILE_SCHEMAS = {
  config: PackConfigSchema,
  generation_config: GenerationConfigSchema,
  preprocessor_config: PreprocessorConfigSchema,
  processor_config: ProcessorConfigSchema,
  tokenizer: TokenizerJsonSchema,
  tokenizer_config: TokenizerConfigSchema,
  painter_config: PainterConfigFileSchema,
  vae_config: VaeConfigFileSchema,
} as const;

/**
 * Cross-checks the separate config files against the manifest (they must describe the same model), so the runtime
 * can trust manifest.reasoner / connector / painter / vae alone. Returns a list of disagreements (empty when fine).
 */
export function crossCheck(
  m: Manifest,
  files: {
    [K in Exclude<keyof typeof CONFIG_FILE_SCHEMAS, 'preprocessor_config' | 'processor_config'>]: z.infer<
      (typeof CONFIG_FILE_SCHEMAS)[K]
    >;
  } & {
    [K in 'preprocessor_config' | 'processor_config']?: z.infer<(typeof CONFIG_FILE_SCHEMAS)[K]>;
  },
): string[] {
  const bad: string[] = [];
  const eq = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) bad.push(`${what}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`);
  };
  const r = m.reasoner;
  const llava = files.config.model_type === 'llava' ? (files.config as LlavaConfig) : null;
  const t = llava
    ? llava.text_config
    : (() => {
        const q = files.config as Qwen2TextConfig;
        return { ...q, head_dim: q.head_dim ?? q.hidden_size / q.num_attention_heads };
      })();
  for (const k of [
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'num_key_value_heads',
    'head_dim',
    'max_position_embeddings',
    'rope_theta',
    'rms_norm_eps',
    'tie_word_embeddings',
  ] as const) {
    eq(`config.json text_config.${k}`, t[k], r[k]);
  }
  if (llava) {
    eq('config.json image_token_index', llava.image_token_index, r.image_token_id);
    eq('config.json image_seq_length', llava.image_seq_length, r.num_image_tokens);
  }
  const v = r.vision;
  const vc = llava?.vision_config;
  if (v && vc) {
    for (const k of [
      'hidden_size',
      'image_size',
      'patch_size',
      'num_hidden_layers',
      'num_attention_heads',
      'intermediate_size',
    ] as const) {
      eq(`config.json vision_config.${k}`, vc[k], v[k]);
    }
  } else if (!v !== !vc) eq('config.json vision_config (present)', !!vc, !!v);
  if (v) {
    eq('preprocessor size', files.preprocessor_config?.size, { height: v.image_size, width: v.image_size });
    eq('preprocessor image_mean', files.preprocessor_config?.image_mean, v.image_mean);
    eq('preprocessor image_std', files.preprocessor_config?.image_std, v.image_std);
    eq('processor image_token', files.processor_config?.image_token, r.image_token);
    eq('processor patch_size', files.processor_config?.patch_size, v.patch_size);
  }
  const eos = files.generation_config.eos_token_id;
  eq('generation_config eos_token_id', Array.isArray(eos) ? eos : [eos], r.eos_token_ids);
  eq('painter_config connector', files.painter_config.connector, m.connector);
  eq('painter_config painter', files.painter_config.painter, m.painter);
  eq('painter_config weights', files.painter_config.weights, m.paths.painter_weights);
  const { _class_name: _, ...vae } = files.vae_config;
  eq('vae_config', vae, m.vae);
  const added = new Map(files.tokenizer.added_tokens.map((a) => [a.content, a.id]));
  const st = r.special_tokens;
  const names: [keyof SpecialTokens, string][] = [
    ['endoftext', '<|endoftext|>'],
    ['im_start', '<|im_start|>'],
    ['im_end', '<|im_end|>'],
    ['think_start', '<think>'],
    ['think_end', '</think>'],
    ['answer_start', '<answer>'],
    ['answer_end', '</answer>'],
    ['image', r.image_token],
  ];
  // A null tag is text in this tokenizer: it must then not be an added token either.
  for (const [k, content] of names) eq(`tokenizer added token ${content}`, added.get(content) ?? null, st[k]);
  eq('image token id', st.image, r.image_token_id);
  // The embedding may have more rows than the tokenizer has tokens (Qwen2.5: 151,665 tokens, 151,936 rows).
  const top = tokenizerTopId(files.tokenizer);
  if (top >= r.vocab_size) bad.push(`tokenizer id ${top} ≥ reasoner.vocab_size ${r.vocab_size}`);
  return bad;
}
