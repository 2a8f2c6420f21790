/**
 * @file The `cascade` pack kind (docs/cascade.md) from two checkpoints never trained together: a Qwen2-family text
 * model (the reasoner: `config.json`, `*.safetensors`, Qwen's tokenizer files; src/convert/qwen2.ts) and OmniGen-v1's
 * folder (the painter: a Phi-3 `config.json`, `model.safetensors` with OmniGen's names, the Phi-3 tokenizer files and
 * `vae/`). OmniGen's text embeddings `llm.embed_tokens` are kept (quantised as the layers' projections; the embed
 * kernel reads every format), as `painter.embed_tokens`; the painter is conditioned by them, not by a connector.
 * Both halves are planned, with every check, before the first byte is written; then each tensor streams by range.
 * Not converted: `input_x_embedder` (OmniGen's input-image path: Edit needs a vision tower the pack lacks anyway).
 */
import {
  parseWith,
  tokenizerTopId,
  TokenizerJsonSchema,
  type Manifest,
  type PainterConfig,
  type SpecialTokens,
  type VaeConfig,
  type WeightVariant,
} from '../packs/manifest';
import { StagingMeter } from '../packs/safetensors_stream';
import {
  checkTensors,
  HashingWriter,
  K_MULTIPLE,
  parseJson,
  planWeights,
  readHeaders,
  readJson,
  readWhole,
  refuser,
  type CheckpointReader,
  type ConvertOptions,
  type ConvertSink,
  type Mapping,
  type Refuse,
  type WeightsPlan,
} from './checkpoint';
import {
  manifestProblem,
  omnigenMappings,
  omnigenPainterConfig,
  phi3Dims,
  placeholderManifest,
  reasonerPackTokens,
  writePackReasoner,
} from './mindomni';
import { MANIFEST_FILE, mindomniManifest, type MindOmniPackInput, type PackMeta } from './mindomni_pack';
import { CONVERTED_FILE, describeConversion, planQwen2, type Qwen2Dims, type Qwen2Plan } from './qwen2';
import { planVae, VAE_CONFIG, VAE_FILES, VAE_WEIGHTS, writeVae, type VaePlan } from './vae';

const bad: Refuse = refuser(
  "Give OmniGen-v1's own folder as the painter: config.json (Phi-3), model.safetensors, tokenizer.json, " +
    'tokenizer_config.json and vae/.',
);

/** OmniGen-v1's weights and tokenizer files, at the top of its folder. */
export const OMNIGEN_WEIGHTS = 'model.safetensors';
const OMNIGEN_CONFIG = 'config.json';
/** Where a cascade pack keeps the painter's own tokenizer files (the reasoner's keep the usual names). */
export const PAINTER_TOKENIZER = 'painter_tokenizer.json';
export const PAINTER_TOKENIZER_CONFIG = 'painter_tokenizer_config.json';
const PAINTER_CONFIG = 'painter_config.json';

/** A checked cascade conversion, ready to write. */
export interface CascadePlan {
  reasoner: Qwen2Plan;
  painter: PainterConfig;
  /** Rows of OmniGen's embedding table (its config.json `vocab_size`). */
  vocab: number;
  weights: WeightsPlan;
  tokenizer: Uint8Array;
  tokenizerConfig: Uint8Array;
  vae: VaePlan | null;
  pack: { specialTokens: SpecialTokens; eos: number[]; notAPack: null } | { notAPack: string };
}

export interface CascadeResult {
  reasoner: Qwen2Dims;
  painter: PainterConfig;
  vae: VaeConfig | null;
  files: { path: string; bytes: number; sha256: string }[];
  weights: { reasoner: string; painter: string };
  manifest: Manifest | null;
  notAPack: string | null;
}

/** OmniGen's painter tensors plus its text embeddings, which this kind keeps. */
export function cascadePainterMappings(pc: PainterConfig, vocab: number): Mapping[] {
  return [
    { hf: 'llm.embed_tokens.weight', ours: 'painter.embed_tokens', shape: [vocab, pc.hidden_size] },
    ...omnigenMappings(pc),
  ];
}

/** Every check of a cascade conversion (both checkpoints), before anything is written. */
export async function planCascade(
  reasonerSrc: CheckpointReader,
  painterSrc: CheckpointReader,
  o: ConvertOptions,
): Promise<CascadePlan> {
  const f = o.weights;
  const meter = o.meter ?? new StagingMeter();
  const reasoner = await planQwen2(reasonerSrc, { ...o, meter });
  const pack = await reasonerPackTokens(reasonerSrc, reasoner, '', bad);
  const config = (await readJson(painterSrc, OMNIGEN_CONFIG, bad)) as Record<string, unknown>;
  const d = phi3Dims(config, OMNIGEN_CONFIG);
  const vocab = config.vocab_size;
  if (!(typeof vocab === 'number' && Number.isInteger(vocab) && vocab > 0))
    bad(`${OMNIGEN_CONFIG}: vocab_size must be a positive integer, got ${JSON.stringify(vocab)}`, 'vocab_size');
  const k = K_MULTIPLE[f];
  for (const [name, v] of [
    ['hidden_size', d.hidden_size],
    ['num_attention_heads × head_dim', d.num_attention_heads * d.head_dim],
    ['intermediate_size', d.intermediate_size],
  ] as const)
    if (v % k !== 0) bad(`${f} weights need OmniGen's ${name} (${v}) to be a multiple of ${k}`, 'weights');
  const found = await readHeaders(painterSrc, [OMNIGEN_WEIGHTS], meter, bad, () => "OmniGen's weights");
  const pc = omnigenPainterConfig(d, found, OMNIGEN_WEIGHTS);
  const maps = cascadePainterMappings(pc, vocab);
  checkTensors(maps, found, bad, OMNIGEN_CONFIG);
  const tokenizer = await readWhole(painterSrc, 'tokenizer.json');
  const tokenizerConfig = await readWhole(painterSrc, 'tokenizer_config.json');
  if (!tokenizer || !tokenizerConfig)
    bad("OmniGen's folder has no tokenizer.json or tokenizer_config.json (its Phi-3 tokenizer)", 'tokenizer.json');
  const tj = parseWith(TokenizerJsonSchema, parseJson(tokenizer, 'tokenizer.json', bad), 'OmniGen tokenizer.json');
  // The painter needs no chat template: its config only has to be a JSON object (the tokenizer's settings).
  const tc = parseJson(tokenizerConfig, 'tokenizer_config.json', bad);
  if (typeof tc !== 'object' || tc === null || Array.isArray(tc))
    bad("OmniGen's tokenizer_config.json is not a JSON object", 'tokenizer_config.json');
  const top = tokenizerTopId(tj);
  if (top >= vocab)
    bad(`OmniGen's tokenizer.json has token id ${top}, beyond its ${vocab} embedding rows`, 'tokenizer.json');
  const vae =
    (await painterSrc.size(VAE_CONFIG)) === null
      ? null
      : await planVae(painterSrc, f !== 'f32', meter, pc.latent_channels);
  const weights = planWeights(`painter.${f}.safetensors`, maps, found, f);
  let notAPack = vae
    ? pack.notAPack
    : "OmniGen's folder has no vae/, and a pack needs the VAE (OmniGen's own code then fetches " +
      'stabilityai/sdxl-vae: put its config.json and diffusion_pytorch_model.safetensors in vae/)';
  const plan: CascadePlan = { reasoner, painter: pc, vocab, weights, tokenizer, tokenizerConfig, vae, pack };
  if (!notAPack) notAPack = manifestProblem(() => plannedCascadeManifest(plan, f));
  return notAPack ? { ...plan, pack: { notAPack } } : plan;
}

function packInput(p: CascadePlan, f: WeightVariant, files: MindOmniPackInput['files']): MindOmniPackInput | null {
  if (!p.vae || p.pack.notAPack !== null) return null;
  return {
    weights: f,
    reasoner: p.reasoner.dims,
    specialTokens: p.pack.specialTokens,
    eos: p.pack.eos,
    connector: null,
    painter: p.painter,
    painterText: { tokenizer: PAINTER_TOKENIZER, tokenizerConfig: PAINTER_TOKENIZER_CONFIG, vocab: p.vocab },
    vae: p.vae.config,
    files,
    paths: {
      reasoner: p.reasoner.weights.path,
      painter: p.weights.path,
      painterConfig: PAINTER_CONFIG,
      vaeConfig: VAE_FILES.config,
      vaeDecoder: VAE_FILES.decoder,
      vaeEncoder: VAE_FILES.encoder,
    },
  };
}

/** The manifest converting `p` to `f` writes, on placeholder entries of every file (see plannedManifest). */
export function plannedCascadeManifest(p: CascadePlan, f: WeightVariant, meta?: PackMeta): Manifest | null {
  const probe = packInput(p, f, []);
  return probe && placeholderManifest(probe, [PAINTER_TOKENIZER, PAINTER_TOKENIZER_CONFIG], meta);
}

/**
 * Converts a Qwen2-family reasoner and OmniGen-v1 into one cascade pack: reasoner.<f>.safetensors + its tokenizer
 * files and config.json, painter.<f>.safetensors (OmniGen's DiT + its text embeddings), painter_config.json, the
 * painter's tokenizer files, the VAE's graphs (from OmniGen's vae/), converted.json and manifest.json.
 */
export async function convertCascade(
  reasonerSrc: CheckpointReader,
  painterSrc: CheckpointReader,
  sink: ConvertSink,
  o: ConvertOptions & { pack?: PackMeta },
): Promise<CascadeResult> {
  const meter = o.meter ?? new StagingMeter();
  const opts = { ...o, meter };
  const p = await planCascade(reasonerSrc, painterSrc, opts);
  const out = new HashingWriter(sink);
  await writePackReasoner(p.reasoner, p.pack, out, opts);
  await out.weights(painterSrc, p.weights, o.blockBytes ?? 4 * 1024 * 1024, meter, bad);
  const f: WeightVariant = o.weights;
  await out.whole(
    PAINTER_CONFIG,
    describeConversion({
      _class_name: 'RGVLMPainter',
      connector: null,
      painter: p.painter,
      weights: { [f]: p.weights.path },
    }),
  );
  await out.whole(PAINTER_TOKENIZER, p.tokenizer);
  await out.whole(PAINTER_TOKENIZER_CONFIG, p.tokenizerConfig);
  if (p.vae) await writeVae(painterSrc, p.vae, out, meter);
  const vaePaths = p.vae
    ? { vae_decoder: VAE_FILES.decoder, vae_encoder: VAE_FILES.encoder, vae_config: VAE_FILES.config }
    : {};
  await out.whole(
    CONVERTED_FILE,
    describeConversion({
      format: 'rg-vlm-converted-cascade',
      format_version: 1,
      source: {
        reasoner: { model_type: p.reasoner.modelType, prefix: p.reasoner.prefix, files: p.reasoner.shards },
        painter: { model_type: 'phi3', files: [OMNIGEN_WEIGHTS] },
        ...(p.vae ? { vae: { class_name: 'AutoencoderKL', files: [VAE_CONFIG, VAE_WEIGHTS] } } : {}),
        not_converted: [...(p.vae ? [] : ['vae/']), 'input_x_embedder', 'pos_embed'],
      },
      weights: f,
      reasoner: p.reasoner.dims,
      painter: p.painter,
      painter_vocab: p.vocab,
      ...(p.vae ? { vae: p.vae.config } : {}),
      paths: {
        reasoner_weights: { [f]: p.reasoner.weights.path },
        painter_weights: { [f]: p.weights.path },
        painter_config: PAINTER_CONFIG,
        tokenizer: 'tokenizer.json',
        tokenizer_config: 'tokenizer_config.json',
        painter_tokenizer: PAINTER_TOKENIZER,
        painter_tokenizer_config: PAINTER_TOKENIZER_CONFIG,
        ...vaePaths,
      },
      files: out.files,
    }),
  );
  const input = packInput(p, f, [...out.files]);
  const manifest = input ? mindomniManifest(input, o.pack) : null;
  if (manifest) await out.whole(MANIFEST_FILE, describeConversion(manifest));
  return {
    reasoner: p.reasoner.dims,
    painter: p.painter,
    vae: p.vae?.config ?? null,
    files: out.files,
    weights: { reasoner: p.reasoner.weights.path, painter: p.weights.path },
    manifest,
    notAPack: p.pack.notAPack,
  };
}
