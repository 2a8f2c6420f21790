/**
 * @file The catalogue of known real checkpoints our converters target (src/convert/qwen2.ts, mindomni.ts, vae.ts),
 * as data: where they live on the Hugging Face Hub, the files the converter reads, the licence, the architecture
 * numbers of their config.json files, and what they need: the download size and the GPU memory per precision.
 *
 * Sizes are COMPUTED from the config numbers below and the checkpoint's dtype (parameters × bytes per element),
 * not read from the Hub: nothing here has downloaded these files. The GPU memory is the memory plan's
 * (src/packs/plan.ts) at each precision. `rg convert` converts a downloaded folder (or a repo id); a MindOmni repo
 * also converts in the tab (src/convert/hub_pack.ts).
 *
 * Pure: no GPU, no I/O. The entries are checked by the schema when the module loads (a broken entry throws naming
 * the field), and tests/unit/packs/catalogue.test.ts checks the arithmetic against the converters' tensor lists.
 */
import { z } from 'zod';
import { RgError } from '../errors';
import {
  planMemory,
  PRECISIONS,
  type DeviceAllowance,
  type KernelSupport,
  type MemoryPlan,
  type PlanChoice,
  type PlanInput,
  type Precision,
} from './plan';

const int = z.number().int().positive();

const DecoderSchema = z
  .object({
    hidden_size: int,
    num_hidden_layers: int,
    num_attention_heads: int,
    num_key_value_heads: int,
    head_dim: int,
    intermediate_size: int,
  })
  .strict();

/** A Qwen2-family text decoder (config.json of model_type qwen2, or Qwen2.5-VL's text_config). */
const ReasonerSchema = DecoderSchema.extend({
  vocab_size: int,
  tie_word_embeddings: z.boolean(),
  attention_bias: z.boolean(),
  max_position_embeddings: int,
  rope_theta: z.number().positive(),
}).strict();

/** Qwen2.5-VL's vision tower (`visual.*`): in the download, not converted yet. */
const VisionSchema = z
  .object({
    depth: int,
    hidden_size: int,
    intermediate_size: int,
    out_hidden_size: int,
    in_channels: int,
    patch_size: int,
    temporal_patch_size: int,
    spatial_merge_size: int,
  })
  .strict();

/** OmniGen's image decoder: Phi-3 layers plus its embedders; vocab and pos_embed are stored but not converted. */
const PainterSchema = DecoderSchema.extend({
  latent_channels: int,
  patch_size: int,
  timestep_freq_dim: int,
  /** OmniGen's own text embeddings (`llm.embed_tokens`), in the file, ignored by the `mindomni` kind. */
  vocab_size: int,
  /** `pos_embed` is [1, M², hidden]. */
  pos_embed_max_size: int,
}).strict();

/** MindOmni's connector: a Linear from the mllm's width, then Phi-3 layers at the image decoder's width. */
const ConnectorSchema = DecoderSchema.extend({ input_size: int }).strict();

/** A diffusers AutoencoderKL of the SDXL type (DownEncoderBlock2D / UpDecoderBlock2D, one mid attention). */
const VaeSchema = z
  .object({
    in_channels: int,
    out_channels: int,
    latent_channels: int,
    block_out_channels: z.array(int).min(1),
    layers_per_block: int,
    use_quant_conv: z.boolean(),
    use_post_quant_conv: z.boolean(),
  })
  .strict();

const DTYPE_BYTES = { bf16: 2, f16: 2, f32: 4 } as const;

export const CatalogueEntrySchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'a lower-case slug'),
    name: z.string().min(1),
    /** 'reasoner': a Qwen2-family thinker to pair with a painter; 'mindomni': MindOmni's whole folder. */
    kind: z.enum(['reasoner', 'mindomni']),
    /** Hugging Face repo ids (owner/name). */
    repos: z.array(z.string().regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, 'owner/name')).min(1),
    /** The files and folders the converter reads, relative to the repo's root. */
    layout: z.array(z.string().min(1)).min(1),
    /** SPDX identifier; NOASSERTION where we have not verified it. */
    licence: z.string().min(1),
    /** The dtype the published weights are stored in (and whether config.json says so or it is assumed). */
    dtype: z.enum(['bf16', 'f16', 'f32']),
    dtypeSource: z.enum(['config', 'assumed']),
    reasoner: ReasonerSchema,
    vision: VisionSchema.optional(),
    connector: ConnectorSchema.optional(),
    painter: PainterSchema.optional(),
    vae: VaeSchema.optional(),
    /** Steps the plan counts timestep tables for (OmniGen's default), mindomni only. */
    painterSteps: int.optional(),
    /** WebGPU features our kernels need for it (none: f16/bf16 weights are unpacked in the shader). */
    gpuFeatures: z.array(z.string().min(1)),
    /** What has and has not run, in one honest sentence. */
    status: z.string().min(1),
  })
  .strict()
  .superRefine((e, ctx) => {
    const r = e.reasoner;
    if (r.num_attention_heads * r.head_dim !== r.hidden_size)
      ctx.addIssue({
        code: 'custom',
        path: ['reasoner', 'head_dim'],
        message: `head_dim × num_attention_heads must equal hidden_size (${r.hidden_size}) in a Qwen2 decoder`,
      });
    if (e.kind === 'mindomni')
      for (const k of ['vision', 'connector', 'painter', 'vae', 'painterSteps'] as const)
        if (e[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: `a mindomni entry needs ${k}` });
    if (e.connector && e.connector.input_size !== e.reasoner.hidden_size)
      ctx.addIssue({
        code: 'custom',
        path: ['connector', 'input_size'],
        message: `connector.input_size must be the reasoner's hidden_size (${e.reasoner.hidden_size})`,
      });
  });

export type CatalogueEntry = z.infer<typeof CatalogueEntrySchema>;

/** Checks one entry; a broken one is RgError BAD_INPUT naming the first bad field (`reasoner.vocab_size`, …). */
export function parseCatalogueEntry(raw: unknown): CatalogueEntry {
  const r = CatalogueEntrySchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.') || '(entry)';
  const id = (raw as { id?: unknown } | null)?.id;
  throw new RgError('BAD_INPUT', `catalogue entry ${JSON.stringify(id)}: ${field}: ${issue.message}`, {
    field,
    hint: 'Fix the entry in src/packs/catalogue.ts.',
  });
}

// ------------------------------------------------------------------------------------------------ parameters
type Decoder = z.infer<typeof DecoderSchema>;

/** A Qwen2 decoder: embeddings, layers (q/k/v biases when attention_bias), final norm, lm_head unless tied. */
export function qwen2Params(r: CatalogueEntry['reasoner']): number {
  const H = r.hidden_size;
  const q = r.num_attention_heads * r.head_dim;
  const kv = r.num_key_value_heads * r.head_dim;
  const perLayer = 2 * H + (q + 2 * kv) * H + (r.attention_bias ? q + 2 * kv : 0) + q * H + 3 * H * r.intermediate_size;
  return r.vocab_size * H * (r.tie_word_embeddings ? 1 : 2) + r.num_hidden_layers * perLayer + H;
}

/** Qwen2.5-VL's vision tower: Conv3d patch embed (no bias), blocks (two RMSNorms, qkv, proj, gated MLP), merger. */
export function visionParams(v: NonNullable<CatalogueEntry['vision']>): number {
  const h = v.hidden_size;
  const I = v.intermediate_size;
  const patch = v.in_channels * v.temporal_patch_size * v.patch_size ** 2 * h;
  const block = 2 * h + (3 * h * h + 3 * h) + (h * h + h) + 2 * (h * I + I) + (I * h + h);
  const m = h * v.spatial_merge_size ** 2;
  const merger = h + (m * m + m) + (m * v.out_hidden_size + v.out_hidden_size);
  return patch + v.depth * block + merger;
}

/** One Phi-3 decoder layer: two RMSNorms, fused qkv, o, fused gate|up, down; no biases. */
function phi3LayerParams(d: Decoder): number {
  const H = d.hidden_size;
  const q = d.num_attention_heads * d.head_dim;
  const qkv = (d.num_attention_heads + 2 * d.num_key_value_heads) * d.head_dim;
  return 2 * H + qkv * H + H * q + 2 * d.intermediate_size * H + H * d.intermediate_size;
}

/** MindOmni's connector.safetensors: the Linear (with bias) and the Phi-3 layers. */
export function connectorParams(c: NonNullable<CatalogueEntry['connector']>): number {
  return c.hidden_size * c.input_size + c.hidden_size + c.num_hidden_layers * phi3LayerParams(c);
}

/**
 * OmniGen's image_decoder/model.safetensors: x_embedder and input_x_embedder (Conv2d patch embeds), time_token and
 * t_embedder (two Linears each), the Phi-3 layers, the final norm, the text embeddings, the final layer (adaLN
 * Linear to 2·D, Linear to the patch), pos_embed.
 */
export function imageDecoderParams(p: NonNullable<CatalogueEntry['painter']>): number {
  const D = p.hidden_size;
  const F = p.latent_channels * p.patch_size ** 2;
  const patchEmbed = D * F + D;
  const timeEmbed = D * p.timestep_freq_dim + D + D * D + D;
  const finalLayer = 2 * D * D + 2 * D + F * D + F;
  return (
    2 * patchEmbed +
    2 * timeEmbed +
    p.num_hidden_layers * phi3LayerParams(p) +
    D +
    p.vocab_size * D +
    finalLayer +
    p.pos_embed_max_size ** 2 * D
  );
}

/** diffusers' AutoencoderKL (encoder, decoder, quant convs) at `v`. */
export function vaeParams(v: NonNullable<CatalogueEntry['vae']>): number {
  const conv = (i: number, o: number, k: number) => i * o * k * k + o;
  const norm = (c: number) => 2 * c;
  const resnet = (i: number, o: number) =>
    norm(i) + conv(i, o, 3) + norm(o) + conv(o, o, 3) + (i !== o ? conv(i, o, 1) : 0);
  const mid = (c: number) => 2 * resnet(c, c) + norm(c) + 4 * (c * c + c);
  const ch = v.block_out_channels;
  const L = v.latent_channels;
  const last = ch[ch.length - 1]!;
  let enc = conv(v.in_channels, ch[0]!, 3);
  let prev = ch[0]!;
  ch.forEach((c, i) => {
    for (let j = 0; j < v.layers_per_block; j++) enc += resnet(j === 0 ? prev : c, c);
    if (i < ch.length - 1) enc += conv(c, c, 3);
    prev = c;
  });
  enc += mid(last) + norm(last) + conv(last, 2 * L, 3) + (v.use_quant_conv ? conv(2 * L, 2 * L, 1) : 0);
  const rev = [...ch].reverse();
  let dec = (v.use_post_quant_conv ? conv(L, L, 1) : 0) + conv(L, last, 3) + mid(last);
  prev = last;
  rev.forEach((c, i) => {
    for (let j = 0; j <= v.layers_per_block; j++) dec += resnet(j === 0 ? prev : c, c);
    if (i < rev.length - 1) dec += conv(c, c, 3);
    prev = c;
  });
  dec += norm(ch[0]!) + conv(ch[0]!, v.out_channels, 3);
  return enc + dec;
}

/** Every parameter the download holds, by part (what `rg convert` reads, and the vision tower it skips). */
export function catalogueParams(e: CatalogueEntry): { part: string; params: number }[] {
  const parts = [
    { part: e.kind === 'mindomni' ? 'mllm text decoder' : 'text decoder', params: qwen2Params(e.reasoner) },
  ];
  if (e.vision) parts.push({ part: 'mllm vision tower (not converted)', params: visionParams(e.vision) });
  if (e.connector) parts.push({ part: 'connector', params: connectorParams(e.connector) });
  if (e.painter) parts.push({ part: 'image decoder', params: imageDecoderParams(e.painter) });
  if (e.vae) parts.push({ part: 'VAE', params: vaeParams(e.vae) });
  return parts;
}

/** The download in bytes: the parameters × the checkpoint dtype's bytes (safetensors headers and JSON not counted). */
export function downloadBytes(e: CatalogueEntry): number {
  return catalogueParams(e).reduce((a, p) => a + p.params, 0) * DTYPE_BYTES[e.dtype];
}

// ------------------------------------------------------------------------------------------------ the plan
/** The precisions the Model manager shows the plan at. */
export const CATALOGUE_PRECISIONS = ['f16', 'int8', 'int4'] as const satisfies readonly Precision[];
/** MindOmni's painter is planned at 512² (64² latents, 32² patches: 1,024 image tokens). */
export const CATALOGUE_IMAGE_SIZE = 512;

/**
 * The plan's input. A reasoner entry is planned alone (`painter: false`), so its connector and painter dims are
 * never read; they are the reasoner's own at zero layers only to fill the type.
 */
export function cataloguePlanInput(e: CatalogueEntry): PlanInput {
  const { rope_theta: _, ...reasoner } = e.reasoner;
  const unused = { ...pickDecoder(e.reasoner), num_hidden_layers: 0 };
  // onnxruntime-web's models: the VAE's two graphs, counted in f32; the vision tower is not converted, so not counted.
  const vaeOnnx = e.vae ? vaeParams(e.vae) * 4 : 0;
  return {
    id: e.id,
    reasoner,
    connector: e.connector ?? { ...unused, input_size: e.reasoner.hidden_size },
    painter: e.painter
      ? { ...pickDecoder(e.painter), ...pickPainter(e.painter) }
      : { ...unused, latent_channels: 1, patch_size: 1, timestep_freq_dim: 1 },
    vaeDownscale: e.vae ? 2 ** (e.vae.block_out_channels.length - 1) : 8,
    reasonerPrecisions: [...PRECISIONS],
    painterPrecisions: e.painter ? [...PRECISIONS] : [],
    onnxBytes: vaeOnnx,
    gpuFeatures: e.gpuFeatures,
    defaults: { width: CATALOGUE_IMAGE_SIZE, height: CATALOGUE_IMAGE_SIZE, steps: e.painterSteps ?? 1 },
    minSize: 256, // the plan's suggestions halve the image no lower than this
  };
}

function pickDecoder(d: Decoder): Decoder {
  const { hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim, intermediate_size } = d;
  return { hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim, intermediate_size };
}

function pickPainter(p: NonNullable<CatalogueEntry['painter']>) {
  return { latent_channels: p.latent_channels, patch_size: p.patch_size, timestep_freq_dim: p.timestep_freq_dim };
}

/** The choice at precision `p`: reasoners alone at the default context; MindOmni with its painter at 512². */
export function catalogueChoice(e: CatalogueEntry, p: Precision): PlanChoice {
  return e.kind === 'reasoner'
    ? { reasonerPrecision: p, painter: false }
    : { reasonerPrecision: p, painterPrecision: p, width: CATALOGUE_IMAGE_SIZE, height: CATALOGUE_IMAGE_SIZE };
}

/** The memory plan of `e` at every catalogue precision on `dev`. */
export function cataloguePlans(
  e: CatalogueEntry,
  dev: DeviceAllowance,
  support: KernelSupport,
): { precision: Precision; plan: MemoryPlan }[] {
  const input = cataloguePlanInput(e);
  return CATALOGUE_PRECISIONS.map((p) => ({
    precision: p,
    plan: planMemory(input, catalogueChoice(e, p), dev, support),
  }));
}

/** The command that converts `e` (the Hub folder downloaded by the user first; see the README's Command line). */
export function convertCommand(e: CatalogueEntry, weights: Precision = 'int4'): string {
  const folder = e.repos[0]!.split('/')[1]!;
  return `npm run rg -- convert --from path/to/${folder} --out out/${e.id}-${weights} --weights ${weights}`;
}

// ------------------------------------------------------------------------------------------------ the entries
const QWEN_LAYOUT = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const NOT_RUN =
  'Converts with OmniGen-v1 as its painter into a cascade pack the studio opens, in this tab or with rg convert ' +
  '--painter (checked on replicas only; WebGPU only); never run on real weights here.';

const RAW_ENTRIES: unknown[] = [
  {
    id: 'qwen2.5-0.5b-instruct',
    name: 'Qwen2.5 0.5B Instruct',
    kind: 'reasoner',
    repos: ['Qwen/Qwen2.5-0.5B-Instruct'],
    layout: QWEN_LAYOUT,
    licence: 'Apache-2.0',
    dtype: 'bf16',
    dtypeSource: 'config',
    reasoner: {
      hidden_size: 896,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      head_dim: 64,
      intermediate_size: 4864,
      vocab_size: 151_936,
      tie_word_embeddings: true,
      attention_bias: true,
      max_position_embeddings: 32_768,
      rope_theta: 1_000_000,
    },
    gpuFeatures: [],
    status: NOT_RUN,
  },
  {
    id: 'qwen2.5-1.5b-instruct',
    name: 'Qwen2.5 1.5B Instruct',
    kind: 'reasoner',
    repos: ['Qwen/Qwen2.5-1.5B-Instruct'],
    layout: QWEN_LAYOUT,
    licence: 'Apache-2.0',
    dtype: 'bf16',
    dtypeSource: 'config',
    reasoner: {
      hidden_size: 1536,
      num_hidden_layers: 28,
      num_attention_heads: 12,
      num_key_value_heads: 2,
      head_dim: 128,
      intermediate_size: 8960,
      vocab_size: 151_936,
      tie_word_embeddings: true,
      attention_bias: true,
      max_position_embeddings: 32_768,
      rope_theta: 1_000_000,
    },
    gpuFeatures: [],
    status: NOT_RUN,
  },
  {
    id: 'deepseek-r1-distill-qwen-1.5b',
    name: 'DeepSeek-R1-Distill-Qwen 1.5B',
    kind: 'reasoner',
    repos: ['deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B'],
    layout: QWEN_LAYOUT,
    licence: 'MIT',
    dtype: 'bf16',
    dtypeSource: 'config',
    reasoner: {
      hidden_size: 1536,
      num_hidden_layers: 28,
      num_attention_heads: 12,
      num_key_value_heads: 2,
      head_dim: 128,
      intermediate_size: 8960,
      vocab_size: 151_936,
      tie_word_embeddings: false,
      attention_bias: true,
      max_position_embeddings: 131_072,
      rope_theta: 10_000,
    },
    gpuFeatures: [],
    status: NOT_RUN,
  },
  {
    id: 'mindomni',
    name: 'MindOmni (Qwen2.5-VL-7B thinker + OmniGen painter)',
    kind: 'mindomni',
    repos: ['TencentARC/MindOmni'],
    layout: [
      'mllm/ (Qwen2.5-VL-7B: config.json, safetensors shards, tokenizer files)',
      'connector.safetensors',
      'image_decoder/config.json',
      'image_decoder/model.safetensors',
      'vae/config.json',
      'vae/diffusion_pytorch_model.safetensors',
    ],
    // The GitHub repository's License.txt: "MindOmni is licensed under the MIT License" (the Hub model card was not
    // read here).
    licence: 'MIT',
    dtype: 'bf16',
    dtypeSource: 'assumed',
    reasoner: {
      hidden_size: 3584,
      num_hidden_layers: 28,
      num_attention_heads: 28,
      num_key_value_heads: 4,
      head_dim: 128,
      intermediate_size: 18_944,
      vocab_size: 152_064,
      tie_word_embeddings: false,
      attention_bias: true,
      max_position_embeddings: 128_000,
      rope_theta: 1_000_000,
    },
    vision: {
      depth: 32,
      hidden_size: 1280,
      intermediate_size: 3420,
      out_hidden_size: 3584,
      in_channels: 3,
      patch_size: 14,
      temporal_patch_size: 2,
      spatial_merge_size: 2,
    },
    connector: {
      hidden_size: 3072,
      num_hidden_layers: 2,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      head_dim: 96,
      intermediate_size: 8192,
      input_size: 3584,
    },
    painter: {
      hidden_size: 3072,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      head_dim: 96,
      intermediate_size: 8192,
      latent_channels: 4,
      patch_size: 2,
      timestep_freq_dim: 256,
      vocab_size: 32_064,
      pos_embed_max_size: 192,
    },
    vae: {
      in_channels: 3,
      out_channels: 3,
      latent_channels: 4,
      block_out_channels: [128, 256, 512, 512],
      layers_per_block: 2,
      use_quant_conv: true,
      use_post_quant_conv: true,
    },
    painterSteps: 50,
    gpuFeatures: [],
    status:
      'Converts with rg convert into a pack the studio opens (checked on replicas only; the vision tower is not ' +
      'converted, so it reads no images; WebGPU only); never run on real weights here.',
  },
];

/** The known real checkpoints, checked by the schema when this module loads. */
export const CATALOGUE: readonly CatalogueEntry[] = RAW_ENTRIES.map(parseCatalogueEntry);

/** The raw entries, for the schema test (a broken copy must be refused). */
export const RAW_CATALOGUE: readonly unknown[] = RAW_ENTRIES;
