/**
 * @file The Qwen2-family checkpoint converter: a Hugging Face checkpoint's own layout (config.json of model_type
 * "qwen2", or "qwen2_5_vl" whose text decoder is converted; model.safetensors or shards +
 * model.safetensors.index.json, bf16/f16/f32 tensors, tokenizer files) to the reasoner weights of our packs
 * (docs/formats.md "Converting a checkpoint"). `planQwen2` checks everything before the first byte is written
 * (model_type, config fields, shards, every tensor's name, dtype and shape); `writeQwen2` then streams each output
 * tensor from its shard (src/convert/checkpoint.ts). MindOmni's converter plans its `mllm/` with the same code.
 */
import { RgError } from '../errors';
import { TokenizerConfigSchema, TokenizerJsonSchema, parseWith } from '../packs/manifest';
import type { DecoderDims } from '../packs/plan';
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
  shardMap,
  type CheckpointReader,
  type ConvertOptions,
  type ConvertSink,
  type Mapping,
  type Refuse,
  type WeightsPlan,
} from './checkpoint';

export type { CheckpointReader, ConvertOptions, ConvertSink, FileWriter } from './checkpoint';

/** The text decoder a converted checkpoint describes (the fields of the manifest's ReasonerConfig it fixes). */
export interface Qwen2Dims extends DecoderDims {
  vocab_size: number;
  max_position_embeddings: number;
  rope_theta: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  attention_bias: true;
}

export interface ConvertResult {
  dims: Qwen2Dims;
  /** Every file written, with its size and sha256, in the order written. */
  files: { path: string; bytes: number; sha256: string }[];
  /** The weights file's path. */
  weights: string;
}

/** The description file a conversion writes (docs/formats.md "Converting a checkpoint"). */
export const CONVERTED_FILE = 'converted.json';

const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';
const SUPPORTED = ['qwen2', 'qwen2_5_vl'];

const bad: Refuse = refuser(
  'Convert an unmodified Qwen2-family checkpoint (config.json, *.safetensors, tokenizer files).',
);

/**
 * The text decoder's fields of a config: the top level, or for Qwen2.5-VL its `text_config` where newer
 * transformers versions nest them (fields it lacks fall back to the top level).
 */
function textFields(c: Record<string, unknown>): Record<string, unknown> {
  const t = c.text_config;
  return c.model_type === 'qwen2_5_vl' && typeof t === 'object' && t !== null && !Array.isArray(t)
    ? { ...c, ...(t as Record<string, unknown>) }
    : c;
}

/**
 * Qwen2.5-VL's multimodal RoPE splits each head's frequencies into (time, height, width) sections; for text every
 * token has the same three position ids, so it is the plain RoPE our engine runs. Anything else is refused.
 */
function checkRopeScaling(c: Record<string, unknown>, headDim: number, what: string): void {
  const r = c.rope_scaling;
  if (r === null || r === undefined) return;
  const s = r as Record<string, unknown>;
  const kind = s.type ?? s.rope_type;
  const sections = s.mrope_section;
  const known = new Set(['type', 'rope_type', 'mrope_section']);
  const plain =
    (kind === 'mrope' || kind === 'default') &&
    (s.rope_type === undefined || s.rope_type === 'default' || s.rope_type === 'mrope') &&
    Object.keys(s).every((k) => known.has(k));
  const sum = Array.isArray(sections) ? sections.reduce((a: number, b) => a + (typeof b === 'number' ? b : NaN), 0) : 0;
  if (!plain || sum !== headDim / 2)
    bad(
      `${what}: rope_scaling ${JSON.stringify(r)} is not supported (only none, or Qwen2.5-VL's mrope with sections ` +
        `summing to head_dim / 2 = ${headDim / 2}, which is plain RoPE for text)`,
      'rope_scaling',
    );
}

/** The decoder's dimensions from config.json; an unsupported model_type or a missing field is named. */
export function qwen2Dims(config: unknown): Qwen2Dims {
  const top = (config ?? {}) as Record<string, unknown>;
  if (!SUPPORTED.includes(top.model_type as string))
    throw new RgError(
      'UNSUPPORTED_PACK',
      `config.json: model_type ${JSON.stringify(top.model_type)} is not supported`,
      {
        field: 'model_type',
        hint: 'Qwen2-family text models (model_type "qwen2") and the Qwen2.5-VL text decoder ("qwen2_5_vl").',
      },
    );
  const c = textFields(top);
  const int = (k: string): number => {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0))
      bad(`config.json: ${k} must be a positive integer, got ${JSON.stringify(v)}`, k);
    return v;
  };
  const num = (k: string): number => {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0))
      bad(`config.json: ${k} must be a positive number, got ${JSON.stringify(v)}`, k);
    return v;
  };
  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  if (hidden % heads !== 0)
    bad(`config.json: hidden_size ${hidden} is not a multiple of ${heads} heads`, 'hidden_size');
  const kv = int('num_key_value_heads');
  if (heads % kv !== 0)
    bad(`config.json: ${heads} attention heads are not a multiple of ${kv} kv heads`, 'num_key_value_heads');
  const tie = c.tie_word_embeddings ?? false;
  if (typeof tie !== 'boolean') bad('config.json: tie_word_embeddings must be true or false', 'tie_word_embeddings');
  if (top.model_type === 'qwen2_5_vl') checkRopeScaling(c, hidden / heads, 'config.json');
  return {
    vocab_size: int('vocab_size'),
    hidden_size: hidden,
    num_hidden_layers: int('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kv,
    head_dim: hidden / heads,
    intermediate_size: int('intermediate_size'),
    max_position_embeddings: int('max_position_embeddings'),
    rope_theta: num('rope_theta'),
    rms_norm_eps: num('rms_norm_eps'),
    tie_word_embeddings: tie,
    attention_bias: true,
  };
}

/**
 * Every tensor a Qwen2 decoder must have, Hugging Face name → our name (docs/formats.md "Reasoner"). `prefix` is
 * the decoder's module path: `model.` (Qwen2, and Qwen2.5-VL saved by transformers < 4.52) or
 * `model.language_model.` (Qwen2.5-VL saved by later versions).
 */
export function qwen2Mappings(d: Qwen2Dims, prefix = 'model.'): Mapping[] {
  const H = d.hidden_size;
  const q = d.num_attention_heads * d.head_dim;
  const kv = d.num_key_value_heads * d.head_dim;
  const I = d.intermediate_size;
  const m: Mapping[] = [{ hf: `${prefix}embed_tokens.weight`, ours: 'embed_tokens', shape: [d.vocab_size, H] }];
  for (let l = 0; l < d.num_hidden_layers; l++) {
    const hf = `${prefix}layers.${l}`;
    const ours = `layers.${l}`;
    const add = (name: string, shape: Mapping['shape']) =>
      m.push({ hf: `${hf}.${name}`, ours: `${ours}.${name}`, shape });
    add('input_layernorm.weight', [H]);
    add('post_attention_layernorm.weight', [H]);
    for (const [n, out] of [
      ['q', q],
      ['k', kv],
      ['v', kv],
    ] as const) {
      m.push({ hf: `${hf}.self_attn.${n}_proj.weight`, ours: `${ours}.self_attn.${n}_proj`, shape: [out, H] });
      add(`self_attn.${n}_proj.bias`, [out]);
    }
    m.push({ hf: `${hf}.self_attn.o_proj.weight`, ours: `${ours}.self_attn.o_proj`, shape: [H, q] });
    m.push({ hf: `${hf}.mlp.gate_proj.weight`, ours: `${ours}.mlp.gate_proj`, shape: [I, H] });
    m.push({ hf: `${hf}.mlp.up_proj.weight`, ours: `${ours}.mlp.up_proj`, shape: [I, H] });
    m.push({ hf: `${hf}.mlp.down_proj.weight`, ours: `${ours}.mlp.down_proj`, shape: [H, I] });
  }
  m.push({ hf: `${prefix}norm.weight`, ours: 'norm.weight', shape: [H] });
  if (!d.tie_word_embeddings) m.push({ hf: 'lm_head.weight', ours: 'lm_head', shape: [d.vocab_size, H] });
  return m;
}

/** A checked Qwen2 conversion, ready to write: nothing of it has been written yet. */
export interface Qwen2Plan {
  src: CheckpointReader;
  dims: Qwen2Dims;
  modelType: string;
  /** The decoder's tensor prefix the checkpoint uses. */
  prefix: string;
  shards: string[];
  weights: WeightsPlan;
  tokenizer: Uint8Array;
  tokenizerConfig: Uint8Array;
  generation: Uint8Array | null;
}

/** Every check of a conversion, before anything is written; throws naming the first problem. */
export async function planQwen2(src: CheckpointReader, o: ConvertOptions): Promise<Qwen2Plan> {
  const f = o.weights;
  const meter = o.meter ?? new StagingMeter();
  const config = (await readJson(src, 'config.json', bad)) as Record<string, unknown>;
  const dims = qwen2Dims(config);
  const k = K_MULTIPLE[f];
  const q = dims.num_attention_heads * dims.head_dim;
  for (const [name, v] of [
    ['hidden_size', dims.hidden_size],
    ['num_attention_heads × head_dim', q],
    ['intermediate_size', dims.intermediate_size],
  ] as const)
    if (v % k !== 0) bad(`${f} weights need ${name} (${v}) to be a multiple of ${k}`, 'weights');
  const index = await shardMap(src, INDEX, bad);
  const shards = index ? [...new Set(index.values())].sort() : [SINGLE];
  const found = await readHeaders(src, shards, meter, bad, () => (index ? `${INDEX} names it` : 'no shard index'));
  const vl = config.model_type === 'qwen2_5_vl';
  const prefix =
    vl && (index ?? found).has('model.language_model.embed_tokens.weight') ? 'model.language_model.' : 'model.';
  const maps = qwen2Mappings(dims, prefix);
  checkTensors(maps, found, bad, 'config.json', index && { map: index, name: INDEX });
  // The tokenizer files last: parsing a real one (151k tokens) is the slowest check.
  const tokenizer = await readWhole(src, 'tokenizer.json');
  const tokenizerConfig = await readWhole(src, 'tokenizer_config.json');
  if (!tokenizer || !tokenizerConfig)
    bad('the checkpoint has no tokenizer.json or tokenizer_config.json', 'tokenizer.json');
  parseWith(TokenizerJsonSchema, parseJson(tokenizer, 'tokenizer.json', bad), 'tokenizer.json');
  parseWith(TokenizerConfigSchema, parseJson(tokenizerConfig, 'tokenizer_config.json', bad), 'tokenizer_config.json');
  return {
    src,
    dims,
    modelType: config.model_type as string,
    prefix,
    shards,
    weights: planWeights(`reasoner.${f}.safetensors`, maps, found, f),
    tokenizer,
    tokenizerConfig,
    generation: await readWhole(src, 'generation_config.json'),
  };
}

/** Writes a planned conversion's weights and tokenizer files (converted.json is the caller's). */
export async function writeQwen2(p: Qwen2Plan, out: HashingWriter, o: ConvertOptions): Promise<void> {
  const meter = o.meter ?? new StagingMeter();
  await out.weights(p.src, p.weights, o.blockBytes ?? 4 * 1024 * 1024, meter, bad);
  await out.whole('tokenizer.json', p.tokenizer);
  await out.whole('tokenizer_config.json', p.tokenizerConfig);
  if (p.generation) await out.whole('generation_config.json', p.generation);
}

/** converted.json as bytes (pretty JSON and a newline). */
export function describeConversion(d: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(d, null, 2) + '\n');
}

/** Converts the checkpoint `src` reads into `sink`: the reasoner weights, the tokenizer files and converted.json. */
export async function convertQwen2(
  src: CheckpointReader,
  sink: ConvertSink,
  o: ConvertOptions,
): Promise<ConvertResult> {
  const meter = o.meter ?? new StagingMeter();
  const opts = { ...o, meter };
  const p = await planQwen2(src, opts);
  const out = new HashingWriter(sink);
  await writeQwen2(p, out, opts);
  const f = o.weights;
  const description = describeConversion({
    format: 'rg-vlm-converted-reasoner',
    format_version: 1,
    source: { model_type: p.modelType, files: p.shards },
    weights: f,
    reasoner: p.dims,
    paths: {
      reasoner_weights: { [f]: p.weights.path },
      tokenizer: 'tokenizer.json',
      tokenizer_config: 'tokenizer_config.json',
    },
    files: out.files,
  });
  await out.whole(CONVERTED_FILE, description);
  return { dims: p.dims, files: out.files, weights: p.weights.path };
}
