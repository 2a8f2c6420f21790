/**
 * @file MindOmni's checkpoint (docs/formats.md "Converting MindOmni") to our weights: `mllm/` (Qwen2.5-VL) through the
 * Qwen2 converter, and `image_decoder/` (OmniGen's DiT over Phi-3 layers) + `connector.safetensors` (a Linear and
 * Phi-3 layers, saved as an nn.ModuleList: `0.*`, `1.*`, …) into one painter file. Both halves are planned, with
 * every check, before the first byte is written; then each tensor streams by byte range (src/convert/checkpoint.ts).
 * `vae/` (diffusers AutoencoderKL), when present, becomes vae_decoder.onnx / vae_encoder.onnx / vae_config.json
 * (src/convert/vae.ts). Not converted: the vision tower (`visual.*`), OmniGen's text embeddings
 * (`llm.embed_tokens`) and its input-image embedder (`input_x_embedder`).
 */
import { RgError } from '../errors';
import {
  ConnectorConfigSchema,
  PainterConfigSchema,
  type ConnectorConfig,
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
  refuser,
  subReader,
  type CheckpointReader,
  type ConvertOptions,
  type ConvertSink,
  type FoundTensors,
  type Mapping,
  type Refuse,
  type WeightsPlan,
} from './checkpoint';
import { CONVERTED_FILE, describeConversion, planQwen2, writeQwen2, type Qwen2Dims, type Qwen2Plan } from './qwen2';
import { planVae, VAE_CONFIG, VAE_FILES, VAE_WEIGHTS, writeVae, type VaePlan } from './vae';
import {
  CONFIG_FILE,
  eosIds,
  GENERATION_CONFIG_FILE,
  MANIFEST_FILE,
  mindomniManifest,
  qwen2TextConfig,
  qwenSpecialTokens,
  type MindOmniPackInput,
  type PackMeta,
} from './mindomni_pack';
import type { Manifest } from '../packs/manifest';

const bad: Refuse = refuser(
  'Convert an unmodified MindOmni checkpoint: mllm/, image_decoder/ (config.json, model.safetensors) and ' +
    'connector.safetensors.',
);

export const IMAGE_DECODER = 'image_decoder/model.safetensors';
export const CONNECTOR = 'connector.safetensors';
/** OmniGen's 2D position table: grid index · base / max (`get_2d_sincos_pos_embed(…, base_size=64)`). */
const POS_EMBED_BASE_SIZE = 64;
/** Head sizes our attention kernel runs (the manifest's `head_dim`). */
const HEAD_DIMS = [32, 64, 96, 128];

/** The Phi-3 fields of the image decoder's config.json (the connector's layers share them). */
export type Phi3Dims = Omit<ConnectorConfig, 'input_size' | 'final_norm'>;

function ropeType(r: unknown): unknown {
  const s = (typeof r === 'object' && r !== null ? r : {}) as { type?: unknown; rope_type?: unknown };
  return s.type ?? s.rope_type ?? r;
}

/** The Phi-3 decoder of image_decoder/config.json; anything our painter cannot run is refused, naming the field. */
export function phi3Dims(config: unknown, file = 'image_decoder/config.json'): Phi3Dims {
  const c = (config ?? {}) as Record<string, unknown>;
  if (c.model_type !== 'phi3')
    throw new RgError('UNSUPPORTED_PACK', `${file}: model_type ${JSON.stringify(c.model_type)} is not supported`, {
      field: 'model_type',
      hint: 'MindOmni\'s image decoder is OmniGen\'s Phi-3 transformer (model_type "phi3").',
    });
  const num = (k: string, integer: boolean): number => {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v))))
      bad(`${file}: ${k} must be a positive ${integer ? 'integer' : 'number'}, ` + `got ${JSON.stringify(v)}`, k);
    return v;
  };
  const hidden = num('hidden_size', true);
  const heads = num('num_attention_heads', true);
  const kv = num('num_key_value_heads', true);
  if (hidden % heads !== 0 || heads % kv !== 0)
    bad(`${file}: ${hidden} hidden, ${heads} heads and ${kv} kv heads do not divide`, 'hidden_size');
  const headDim = hidden / heads;
  if (!HEAD_DIMS.includes(headDim))
    bad(`${file}: head_dim ${headDim} is not one our attention runs (${HEAD_DIMS.join(', ')})`, 'hidden_size');
  const rope = longRopeFields(c, headDim, num, file);
  return {
    hidden_size: hidden,
    num_hidden_layers: num('num_hidden_layers', true),
    num_attention_heads: heads,
    num_key_value_heads: kv,
    head_dim: headDim as ConnectorConfig['head_dim'],
    intermediate_size: num('intermediate_size', true),
    rope_theta: num('rope_theta', false),
    rms_norm_eps: num('rms_norm_eps', false),
    ...rope,
  };
}

/** The names Phi-3's LongRoPE goes by; transformers renames "su" to "longrope". */
const LONGROPE_TYPES = ['longrope', 'su'];

/**
 * OmniGen-v1 inherits Phi-3-128k's LongRoPE (`rope_scaling` type "su"): kept, as our painter runs it, when it is what
 * MindOmni's Phi-3 code runs (type, short_factor, long_factor; the lengths at the top level). Written as "longrope".
 */
function longRopeFields(
  c: Record<string, unknown>,
  headDim: number,
  num: (k: string, integer: boolean) => number,
  file: string,
): Pick<Phi3Dims, 'rope_scaling' | 'original_max_position_embeddings' | 'max_position_embeddings'> {
  const r = c.rope_scaling;
  if (r === null || r === undefined) return {};
  const type = ropeType(r);
  if (typeof r !== 'object' || !LONGROPE_TYPES.includes(type as string))
    bad(
      `${file}: rope_scaling of type ${JSON.stringify(type)} is not supported ` +
        '(our painter runs plain RoPE or Phi-3\'s LongRoPE, type "longrope" or "su")',
      'rope_scaling',
    );
  const fields = r as Record<string, unknown>;
  for (const k of Object.keys(fields)) {
    if (!['type', 'rope_type', 'short_factor', 'long_factor'].includes(k))
      bad(
        `${file}: rope_scaling.${k} is not supported (MindOmni's Phi-3 LongRoPE takes type, ` +
          'short_factor and long_factor only; it would ignore this, newer transformers would not)',
        `rope_scaling.${k}`,
      );
  }
  const factors = (k: 'short_factor' | 'long_factor'): number[] => {
    const v = fields[k];
    if (
      !Array.isArray(v) ||
      v.length !== headDim / 2 ||
      !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)
    )
      bad(
        `${file}: rope_scaling.${k} must be ${headDim / 2} positive numbers (head_dim / 2), ` +
          `got ${Array.isArray(v) ? `${v.length} values` : JSON.stringify(v)}`,
        `rope_scaling.${k}`,
      );
    return v as number[];
  };
  const original = num('original_max_position_embeddings', true);
  if (original < 2)
    bad(`${file}: original_max_position_embeddings must be at least 2`, 'original_max_position_embeddings');
  return {
    rope_scaling: { type: 'longrope', short_factor: factors('short_factor'), long_factor: factors('long_factor') },
    original_max_position_embeddings: original,
    max_position_embeddings: num('max_position_embeddings', true),
  };
}

/** The tensors of one Phi-3 decoder layer, `hf` prefix → `ours` prefix; the four projections are the quantised ones. */
function phi3Layer(hf: string, ours: string, d: Phi3Dims): Mapping[] {
  const H = d.hidden_size;
  const q = d.num_attention_heads * d.head_dim;
  const qkv = (d.num_attention_heads + 2 * d.num_key_value_heads) * d.head_dim;
  const I = d.intermediate_size;
  return [
    { hf: `${hf}.input_layernorm.weight`, ours: `${ours}.input_layernorm.weight`, shape: [H] },
    { hf: `${hf}.post_attention_layernorm.weight`, ours: `${ours}.post_attention_layernorm.weight`, shape: [H] },
    { hf: `${hf}.self_attn.qkv_proj.weight`, ours: `${ours}.self_attn.qkv_proj`, shape: [qkv, H] },
    { hf: `${hf}.self_attn.o_proj.weight`, ours: `${ours}.self_attn.o_proj`, shape: [H, q] },
    { hf: `${hf}.mlp.gate_up_proj.weight`, ours: `${ours}.mlp.gate_up_proj`, shape: [2 * I, H] },
    { hf: `${hf}.mlp.down_proj.weight`, ours: `${ours}.mlp.down_proj`, shape: [H, I] },
  ];
}

/** A Linear with bias kept F32 (outside the layers nothing is quantised). */
function f32Linear(hf: string, ours: string, out: number, inn: number, source?: number[]): Mapping[] {
  return [
    { hf: `${hf}.weight`, ours, shape: [out, inn], source, f32: true },
    { hf: `${hf}.bias`, ours: `${ours}.bias`, shape: [out] },
  ];
}

/** Every tensor of MindOmni's connector and image decoder, their name → ours (docs/formats.md table). */
export function mindomniPainterMappings(cc: ConnectorConfig, pc: PainterConfig): Mapping[] {
  const m: Mapping[] = [...f32Linear('0', 'connector.input_proj', cc.hidden_size, cc.input_size)];
  for (let l = 0; l < cc.num_hidden_layers; l++) m.push(...phi3Layer(`${l + 1}`, `connector.layers.${l}`, cc));
  return [...m, ...omnigenMappings(pc)];
}

/** OmniGen's image decoder tensors (its model.safetensors names) → ours: the DiT without its text embeddings. */
export function omnigenMappings(pc: PainterConfig): Mapping[] {
  const P = pc.hidden_size;
  const p = pc.patch_size;
  const C = pc.latent_channels;
  const m: Mapping[] = [];
  m.push(...f32Linear('x_embedder.proj', 'painter.x_embedder', P, C * p * p, [P, C, p, p]));
  for (const e of ['time_token', 't_embedder']) {
    m.push(...f32Linear(`${e}.mlp.0`, `painter.${e}.mlp.0`, P, pc.timestep_freq_dim));
    m.push(...f32Linear(`${e}.mlp.2`, `painter.${e}.mlp.2`, P, P));
  }
  for (let l = 0; l < pc.num_hidden_layers; l++) m.push(...phi3Layer(`llm.layers.${l}`, `painter.layers.${l}`, pc));
  m.push({ hf: 'llm.norm.weight', ours: 'painter.norm.weight', shape: [P] });
  m.push(...f32Linear('final_layer.adaLN_modulation.1', 'painter.final_layer.adaLN_modulation', 2 * P, P));
  m.push(...f32Linear('final_layer.linear', 'painter.final_layer.linear', p * p * C, P));
  return m;
}

/** Shape of `name` in `found`, or a refusal naming it. */
function shapeOf(found: FoundTensors, name: string, file: string): number[] {
  const t = found.get(name);
  if (!t) bad(`the checkpoint has no tensor ${name} (in ${file})`, name);
  return t.info.shape;
}

/**
 * The connector and painter configs from image_decoder/config.json, the reasoner's hidden size and the shapes
 * OmniGen's constructor fixes outside its config (latent channels and patch from `x_embedder.proj.weight`, the
 * timestep features from `time_token.mlp.0.weight`, the position table's size from `pos_embed`).
 */
export function mindomniConfigs(
  d: Phi3Dims,
  reasonerHidden: number,
  decoder: FoundTensors,
  connector: FoundTensors,
): { connector: ConnectorConfig; painter: PainterConfig } {
  const H = d.hidden_size;
  const painter = omnigenPainterConfig(d, decoder, IMAGE_DECODER);
  let layers = 0;
  while (connector.has(`${layers + 1}.input_layernorm.weight`)) layers++;
  if (layers === 0) bad(`${CONNECTOR} has no Phi-3 layer (no 1.input_layernorm.weight)`, CONNECTOR);
  const ci = shapeOf(connector, '0.weight', CONNECTOR);
  if (ci.length !== 2 || ci[1] !== reasonerHidden || ci[0] !== H)
    bad(
      `${CONNECTOR}: 0.weight has shape [${ci.join(', ')}]; the mllm's hidden ${reasonerHidden} → the ` +
        `decoder's ${H} means [${H}, ${reasonerHidden}]`,
      '0.weight',
    );
  const cc = { ...d, num_hidden_layers: layers, input_size: reasonerHidden, final_norm: false };
  const c = ConnectorConfigSchema.safeParse(cc);
  if (!c.success) bad(`the connector's config is outside what our painter runs: ${c.error.message}`, CONNECTOR);
  return { connector: c.data, painter };
}

/**
 * OmniGen's painter config: its Phi-3 fields plus the shapes its constructor fixes outside config.json (latent
 * channels and patch from `x_embedder.proj.weight`, the timestep features from `time_token.mlp.0.weight`, the
 * position table's size from `pos_embed`), read from the headers of `file`.
 */
export function omnigenPainterConfig(d: Phi3Dims, decoder: FoundTensors, file: string): PainterConfig {
  const H = d.hidden_size;
  const xe = shapeOf(decoder, 'x_embedder.proj.weight', file);
  if (xe.length !== 4 || xe[0] !== H || xe[2] !== xe[3])
    bad(
      `x_embedder.proj.weight has shape [${xe.join(', ')}]; a Conv2d patch embed [${H}, C, p, p] is expected`,
      'x_embedder.proj.weight',
    );
  const tf = shapeOf(decoder, 'time_token.mlp.0.weight', file);
  if (tf.length !== 2 || tf[0] !== H || tf[1]! % 2 !== 0)
    bad(
      `time_token.mlp.0.weight has shape [${tf.join(', ')}]; [${H}, an even number of features] is expected`,
      'time_token.mlp.0.weight',
    );
  const pe = shapeOf(decoder, 'pos_embed', file);
  const M = Math.round(Math.sqrt(pe[1] ?? 0));
  if (pe.length !== 3 || pe[0] !== 1 || pe[2] !== H || M * M !== pe[1] || M < 1)
    bad(`pos_embed has shape [${pe.join(', ')}]; [1, M², ${H}] is expected`, 'pos_embed');
  const pc = {
    ...d,
    latent_channels: xe[1]!,
    patch_size: xe[2]!,
    timestep_freq_dim: tf[1]!,
    // OmniGen feeds t ∈ [0, 1] unscaled to two embedders (time_token, t_embedder), max period 10000.
    timestep_scale: 1,
    time_embedders: 'separate' as const,
    timestep_max_period: 10000,
    final_norm_eps: 1e-6,
    pos_embed_max_size: M,
    pos_embed_scale: POS_EMBED_BASE_SIZE / M,
    pos_embed_base: 10000,
  };
  const p = PainterConfigSchema.safeParse(pc);
  if (!p.success) bad(`the image decoder's config is outside what our painter runs: ${p.error.message}`, file);
  return p.data;
}

/** A checked MindOmni conversion, ready to write. */
export interface MindOmniPlan {
  reasoner: Qwen2Plan;
  connector: ConnectorConfig;
  painter: PainterConfig;
  weights: WeightsPlan;
  /** The VAE's graphs, when the checkpoint has vae/config.json. */
  vae: VaePlan | null;
  /**
   * What the manifest needs beyond the weights: the mllm tokenizer's special tokens and the ids generation ends on
   * (`<|im_end|>` among them); or, when the converted folder cannot be a pack, why (it then gets no manifest.json).
   */
  pack: { specialTokens: SpecialTokens; eos: number[]; notAPack: null } | { notAPack: string };
}

export interface MindOmniResult {
  reasoner: Qwen2Dims;
  connector: ConnectorConfig;
  painter: PainterConfig;
  /** The manifest's `vae`, when vae/ was converted. */
  vae: VaeConfig | null;
  files: { path: string; bytes: number; sha256: string }[];
  weights: { reasoner: string; painter: string };
  /** The pack's manifest (written as manifest.json); null when the folder cannot be a pack (`notAPack` says why). */
  manifest: Manifest | null;
  notAPack: string | null;
}

/** Every check of a MindOmni conversion (both halves), before anything is written. */
export async function planMindOmni(src: CheckpointReader, o: ConvertOptions): Promise<MindOmniPlan> {
  const f = o.weights;
  const meter = o.meter ?? new StagingMeter();
  const reasoner = await planQwen2(subReader(src, 'mllm'), { ...o, meter });
  const pack = await reasonerPackTokens(src, reasoner, 'mllm/', bad);
  const d = phi3Dims(await readJson(src, 'image_decoder/config.json', bad));
  const k = K_MULTIPLE[f];
  for (const [name, v] of [
    ['hidden_size', d.hidden_size],
    ['num_attention_heads × head_dim', d.num_attention_heads * d.head_dim],
    ['intermediate_size', d.intermediate_size],
  ] as const)
    if (v % k !== 0) bad(`${f} weights need the image decoder's ${name} (${v}) to be a multiple of ${k}`, 'weights');
  if ((await src.size(IMAGE_DECODER)) === null && (await src.size('image_decoder/model.pt')) !== null)
    bad('image_decoder/ has only model.pt (a pickle, which is never read); model.safetensors is needed', IMAGE_DECODER);
  const decoder = await readHeaders(src, [IMAGE_DECODER], meter, bad, () => "OmniGen's weights");
  const connector = await readHeaders(src, [CONNECTOR], meter, bad, () => "MindOmni's connector");
  const { connector: cc, painter: pc } = mindomniConfigs(d, reasoner.dims.hidden_size, decoder, connector);
  const maps = mindomniPainterMappings(cc, pc);
  const found: FoundTensors = new Map([...decoder, ...connector]);
  // The connector's names are its ModuleList indices; its layers take the image decoder's Phi-3 config.
  const inConnector = (m: Mapping) => /^\d/.test(m.hf);
  checkTensors(
    maps.filter((m) => !inConnector(m)),
    decoder,
    bad,
    'image_decoder/config.json',
  );
  checkTensors(maps.filter(inConnector), connector, bad, 'image_decoder/config.json with the mllm hidden size');
  const vae = (await src.size(VAE_CONFIG)) === null ? null : await planVae(src, f !== 'f32', meter, pc.latent_channels);
  const weights = planWeights(`painter.${f}.safetensors`, maps, found, f);
  let notAPack = vae ? pack.notAPack : 'the checkpoint has no vae/, and a pack needs the VAE';
  const plan: MindOmniPlan = { reasoner, connector: cc, painter: pc, weights, vae, pack };
  // The manifest is checked now, on placeholder file entries, so a folder that cannot be a pack is known before the
  // weights are written (the manifest's validity depends on the configs alone).
  if (!notAPack) notAPack = manifestProblem(() => plannedManifest(plan, f));
  return notAPack ? { ...plan, pack: { notAPack } } : plan;
}

/** What the manifest builder needs from a plan, with the file entries written so far. */
function packInput(p: MindOmniPlan, f: WeightVariant, files: MindOmniPackInput['files']): MindOmniPackInput | null {
  if (!p.vae || p.pack.notAPack !== null) return null;
  return {
    weights: f,
    reasoner: p.reasoner.dims,
    specialTokens: p.pack.specialTokens,
    eos: p.pack.eos,
    connector: p.connector,
    painter: p.painter,
    vae: p.vae.config,
    files,
    paths: {
      reasoner: p.reasoner.weights.path,
      painter: p.weights.path,
      painterConfig: 'painter_config.json',
      vaeConfig: VAE_FILES.config,
      vaeDecoder: VAE_FILES.decoder,
      vaeEncoder: VAE_FILES.encoder,
    },
  };
}

/**
 * The manifest converting `p` to `f` writes, on placeholder entries of every file (0 bytes, no hash): what the pack's
 * id and the memory plan need before anything is downloaded or written. Null when the folder cannot be a pack (no
 * vae/, a tokenizer that is not Qwen's); throws UNSUPPORTED_PACK when the manifest would be refused.
 */
export function plannedManifest(p: MindOmniPlan, f: WeightVariant, meta?: PackMeta): Manifest | null {
  const probe = packInput(p, f, []);
  return probe && placeholderManifest(probe, [], meta);
}

/**
 * The manifest `probe` makes on placeholder entries (0 bytes, no hash) of every file a conversion writes: its paths,
 * the pack's config, generation config and tokenizer files, and `extra`.
 */
export function placeholderManifest(probe: MindOmniPackInput, extra: string[], meta?: PackMeta): Manifest {
  const paths = [
    ...Object.values(probe.paths),
    CONFIG_FILE,
    GENERATION_CONFIG_FILE,
    'tokenizer.json',
    'tokenizer_config.json',
    ...extra,
  ];
  return mindomniManifest({ ...probe, files: paths.map((path) => ({ path, bytes: 0, sha256: '0'.repeat(64) })) }, meta);
}

/** Why `make` (a planned manifest) would be refused (null: it is valid). */
export function manifestProblem(make: () => unknown): string | null {
  try {
    make();
    return null;
  } catch (e) {
    if (e instanceof RgError && e.code === 'UNSUPPORTED_PACK') return e.message;
    throw e;
  }
}

/**
 * The reasoner tokenizer's special tokens and the ids generation ends on, or why the converted folder cannot be a
 * pack (the weights still convert: a tokenizer that is not Qwen's own only stops the manifest). `dir`: where the
 * reasoner's files are under `src` (MindOmni's `mllm/`, or '' for a Qwen2 folder).
 */
export async function reasonerPackTokens(
  src: CheckpointReader,
  reasoner: Qwen2Plan,
  dir: string,
  refuse: Refuse,
): Promise<{ specialTokens: SpecialTokens; eos: number[]; notAPack: null } | { notAPack: string }> {
  try {
    const specialTokens = qwenSpecialTokens(
      parseJson(reasoner.tokenizer, `${dir}tokenizer.json`, refuse),
      reasoner.dims.vocab_size,
      dir,
    );
    const eos = eosIds(
      reasoner.generation && parseJson(reasoner.generation, `${dir}generation_config.json`, refuse),
      await readJson(src, `${dir}config.json`, refuse),
      specialTokens.im_end,
    );
    return { specialTokens, eos, notAPack: null };
  } catch (e) {
    if (e instanceof RgError && e.code === 'UNSUPPORTED_PACK') return { notAPack: e.message };
    throw e;
  }
}

/**
 * The reasoner's part of a pack: its weights and tokenizer files (writeQwen2), and when the folder is a pack the
 * pack's `config.json` (a Qwen2 config) and a `generation_config.json` when the checkpoint has none.
 */
export async function writePackReasoner(
  reasoner: Qwen2Plan,
  pack: { specialTokens: SpecialTokens; eos: number[]; notAPack: null } | { notAPack: string },
  out: HashingWriter,
  opts: ConvertOptions,
): Promise<void> {
  await writeQwen2(reasoner, out, opts);
  if (pack.notAPack !== null) return;
  const text = (x: unknown) => new TextEncoder().encode(JSON.stringify(x, null, 2) + '\n');
  await out.whole(CONFIG_FILE, text(qwen2TextConfig(reasoner.dims, pack.eos, pack.specialTokens)));
  if (!reasoner.generation) await out.whole(GENERATION_CONFIG_FILE, text({ eos_token_id: pack.eos }));
}

/**
 * Converts MindOmni's checkpoint: reasoner.<f>.safetensors + its tokenizer files (from mllm/), painter.<f>.safetensors
 * (connector + image decoder), painter_config.json, the VAE's two ONNX files and vae_config.json (when vae/ is there)
 * and converted.json.
 */
export async function convertMindOmni(
  src: CheckpointReader,
  sink: ConvertSink,
  o: ConvertOptions & { pack?: PackMeta },
): Promise<MindOmniResult> {
  const meter = o.meter ?? new StagingMeter();
  const opts = { ...o, meter };
  const p = await planMindOmni(src, opts);
  const out = new HashingWriter(sink);
  await writePackReasoner(p.reasoner, p.pack, out, opts);
  await out.weights(src, p.weights, o.blockBytes ?? 4 * 1024 * 1024, meter, bad);
  const f: WeightVariant = o.weights;
  const painterConfig = {
    _class_name: 'RGVLMPainter',
    connector: p.connector,
    painter: p.painter,
    weights: { [f]: p.weights.path },
  };
  await out.whole('painter_config.json', describeConversion(painterConfig));
  if (p.vae) await writeVae(src, p.vae, out, meter);
  const vaePaths = p.vae
    ? { vae_decoder: VAE_FILES.decoder, vae_encoder: VAE_FILES.encoder, vae_config: VAE_FILES.config }
    : {};
  const description = describeConversion({
    format: 'rg-vlm-converted-mindomni',
    format_version: 1,
    source: {
      mllm: { model_type: p.reasoner.modelType, prefix: p.reasoner.prefix, files: p.reasoner.shards },
      image_decoder: { model_type: 'phi3', files: [IMAGE_DECODER] },
      connector: { files: [CONNECTOR] },
      ...(p.vae ? { vae: { class_name: 'AutoencoderKL', files: [VAE_CONFIG, VAE_WEIGHTS] } } : {}),
      not_converted: [
        ...(p.vae ? [] : ['vae/']),
        'mllm visual.* (vision tower)',
        'llm.embed_tokens',
        'input_x_embedder',
        'pos_embed',
      ],
    },
    weights: f,
    reasoner: p.reasoner.dims,
    connector: p.connector,
    painter: p.painter,
    ...(p.vae ? { vae: p.vae.config } : {}),
    paths: {
      reasoner_weights: { [f]: p.reasoner.weights.path },
      painter_weights: { [f]: p.weights.path },
      painter_config: 'painter_config.json',
      tokenizer: 'tokenizer.json',
      tokenizer_config: 'tokenizer_config.json',
      ...vaePaths,
    },
    files: out.files,
  });
  await out.whole(CONVERTED_FILE, description);
  // Without vae/ or Qwen's tokenizer the folder holds converted weights, not a pack the studio opens.
  const input = packInput(p, f, [...out.files]);
  const manifest = input ? mindomniManifest(input, o.pack) : null;
  if (manifest) await out.whole(MANIFEST_FILE, describeConversion(manifest));
  return {
    reasoner: p.reasoner.dims,
    connector: p.connector,
    painter: p.painter,
    vae: p.vae?.config ?? null,
    files: out.files,
    weights: { reasoner: p.reasoner.weights.path, painter: p.weights.path },
    manifest,
    notAPack: p.pack.notAPack,
  };
}
