/**
 * @file The Qwen2-family checkpoint converter: a Hugging Face checkpoint's own layout (config.json of model_type
 * "qwen2", model.safetensors or shards + model.safetensors.index.json, bf16/f16/f32 tensors, tokenizer files) to the
 * reasoner weights of our packs (docs/formats.md "Converting a checkpoint"). Everything is checked before the first
 * byte is written (model_type, config fields, shards, every tensor's name, dtype and shape); then each output tensor
 * is read from its shard by byte range in row blocks, converted by the one conversion (`convertWeight`) and written
 * in order through a sink that hashes as it goes. Memory: one row block, plus the int8 / int4 scales of the matrix
 * being written (they follow its elements in the file).
 */
import { createSHA256 } from 'hash-wasm';
import { RgError } from '../errors';
import type { WeightFormat } from '../kernels/matmul';
import type { LinearWeightData } from '../kernels/matmul.ref';
import { convertWeight, weightArrays } from '../kernels/weight_data';
import { TokenizerConfigSchema, TokenizerJsonSchema, parseWith, type FileEntry } from '../packs/manifest';
import type { DecoderDims } from '../packs/plan';
import { headerLength, parseHeader, type SafeDtype, type SafeTensorInfo } from '../packs/safetensors';
import { StagingMeter } from '../packs/safetensors_stream';

/** Random access to the files of a checkpoint (a folder, a URL with Range, a File). */
export interface CheckpointReader {
  /** The file's size in bytes, or null when the checkpoint has no such file. */
  size(path: string): Promise<number | null>;
  /** Bytes [begin, end) of `path`. */
  read(path: string, begin: number, end: number): Promise<Uint8Array>;
}

/** One output file being written, in order. */
export interface FileWriter {
  /** The next bytes; the writer may keep `bytes` (the converter never reuses them). */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Where the converted files go. */
export interface ConvertSink {
  create(path: string, bytes: number): Promise<FileWriter>;
}

/** The text decoder a converted checkpoint describes (the fields of the manifest's ReasonerConfig it fixes). */
export interface Qwen2Dims extends DecoderDims {
  vocab_size: number;
  max_position_embeddings: number;
  rope_theta: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  attention_bias: true;
}

export interface ConvertOptions {
  weights: WeightFormat;
  /** Input bytes read per row block (whole rows; at least one). Default 4 MiB. */
  blockBytes?: number;
  /** Counts what the conversion holds at once (the blocks, scales and headers). */
  meter?: StagingMeter;
}

export interface ConvertResult {
  dims: Qwen2Dims;
  /** Every file written, with its size and sha256, in the order written. */
  files: FileEntry[];
  /** The weights file's path. */
  weights: string;
}

/** The description file a conversion writes (docs/formats.md "Converting a checkpoint"). */
export const CONVERTED_FILE = 'converted.json';

const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';
const DTYPE_BYTES: Partial<Record<SafeDtype, number>> = { F32: 4, F16: 2, BF16: 2 };
const INPUT_FORMAT: Partial<Record<SafeDtype, WeightFormat>> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
/** K multiples of our kernels per stored format (src/kernels/matmul.ts K_MULTIPLE, without its shaders). */
const K_MULTIPLE: Record<WeightFormat, number> = { f32: 1, f16: 2, int8: 4, int4: 32, bf16: 2 };

function bad(message: string, field?: string): never {
  throw new RgError('BAD_INPUT', message, {
    field,
    hint: 'Convert an unmodified Qwen2-family checkpoint (config.json, *.safetensors, tokenizer files).',
  });
}

async function readWhole(src: CheckpointReader, path: string): Promise<Uint8Array | null> {
  const n = await src.size(path);
  return n === null ? null : src.read(path, 0, n);
}

async function readJson(src: CheckpointReader, path: string, required: true): Promise<unknown>;
async function readJson(src: CheckpointReader, path: string, required: false): Promise<unknown | null>;
async function readJson(src: CheckpointReader, path: string, required: boolean): Promise<unknown | null> {
  const b = await readWhole(src, path);
  if (!b) return required ? bad(`the checkpoint has no ${path}`, path) : null;
  try {
    return JSON.parse(new TextDecoder().decode(b));
  } catch (e) {
    return bad(`${path} is not valid JSON: ${(e as Error).message}`, path);
  }
}

/** The decoder's dimensions from config.json; an unsupported model_type or a missing field is named. */
export function qwen2Dims(config: unknown): Qwen2Dims {
  const c = (config ?? {}) as Record<string, unknown>;
  if (c.model_type !== 'qwen2')
    throw new RgError('UNSUPPORTED_PACK', `config.json: model_type ${JSON.stringify(c.model_type)} is not supported`, {
      field: 'model_type',
      hint: 'Only Qwen2-family text models (model_type "qwen2") convert for now.',
    });
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

/** One input tensor and the output name (ours) it becomes: a matrix [out, in] or a vector [n]. */
interface Mapping {
  hf: string;
  ours: string;
  shape: [number] | [number, number];
}

/** Every tensor a Qwen2 checkpoint must have, Hugging Face name → our name (docs/formats.md "Reasoner"). */
export function qwen2Mappings(d: Qwen2Dims): Mapping[] {
  const H = d.hidden_size;
  const q = d.num_attention_heads * d.head_dim;
  const kv = d.num_key_value_heads * d.head_dim;
  const I = d.intermediate_size;
  const m: Mapping[] = [{ hf: 'model.embed_tokens.weight', ours: 'embed_tokens', shape: [d.vocab_size, H] }];
  for (let l = 0; l < d.num_hidden_layers; l++) {
    const hf = `model.layers.${l}`;
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
  m.push({ hf: 'model.norm.weight', ours: 'norm.weight', shape: [H] });
  if (!d.tie_word_embeddings) m.push({ hf: 'lm_head.weight', ours: 'lm_head', shape: [d.vocab_size, H] });
  return m;
}

/** An output tensor: its bytes come from `src` (elements or scales of a matrix, or a vector as F32). */
interface OutTensor {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  bytes: number;
  src: { map: Mapping; info: SafeTensorInfo; file: string; part: 'words' | 'scale' | 'vector' };
}

function outputTensors(
  maps: Mapping[],
  found: Map<string, { info: SafeTensorInfo; file: string }>,
  f: WeightFormat,
): OutTensor[] {
  const out: OutTensor[] = [];
  for (const map of maps) {
    const { info, file } = found.get(map.hf)!;
    const src = (part: OutTensor['src']['part']) => ({ map, info, file, part });
    if (map.shape.length === 1) {
      out.push({ name: map.ours, dtype: 'F32', shape: map.shape, bytes: map.shape[0] * 4, src: src('vector') });
      continue;
    }
    const [o, i] = map.shape;
    if (f === 'int8') {
      out.push({ name: `${map.ours}.weight_q`, dtype: 'I8', shape: [o, i], bytes: o * i, src: src('words') });
      out.push({ name: `${map.ours}.weight_scale`, dtype: 'F32', shape: [o], bytes: o * 4, src: src('scale') });
    } else if (f === 'int4') {
      out.push({
        name: `${map.ours}.weight_q4`,
        dtype: 'U8',
        shape: [o, i / 2],
        bytes: (o * i) / 2,
        src: src('words'),
      });
      out.push({
        name: `${map.ours}.weight_scale`,
        dtype: 'F32',
        shape: [o, i / 32],
        bytes: (o * i) / 8,
        src: src('scale'),
      });
    } else {
      const dtype = ({ f32: 'F32', f16: 'F16', bf16: 'BF16' } as const)[f];
      out.push({
        name: `${map.ours}.weight`,
        dtype,
        shape: [o, i],
        bytes: o * i * (f === 'f32' ? 4 : 2),
        src: src('words'),
      });
    }
  }
  // The tools' writer order (tools/rgvlm/safetensors_io.py): sorted names, data contiguous in that order.
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The safetensors header of `tensors` as the tools write it: sorted keys, compact, spaces to a multiple of 8. */
function headerBytes(tensors: OutTensor[], f: WeightFormat): Uint8Array {
  const h: Record<string, unknown> = { __metadata__: { format: 'pt', 'rgvlm.quantisation': f } };
  let off = 0;
  for (const t of tensors) {
    h[t.name] = { data_offsets: [off, off + t.bytes], dtype: t.dtype, shape: t.shape };
    off += t.bytes;
  }
  let json = JSON.stringify(h);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

/** The shard of every tensor: the index's weight_map, or the one model.safetensors. */
async function shardMap(src: CheckpointReader): Promise<Map<string, string> | null> {
  const index = await readJson(src, INDEX, false);
  if (index === null) return null;
  const wm = (index as { weight_map?: unknown }).weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) bad(`${INDEX} has no weight_map`, INDEX);
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(wm)) {
    if (typeof v !== 'string' || !/^[\w.-]+\.safetensors$/.test(v))
      bad(`${INDEX}: ${k} maps to ${JSON.stringify(v)}`, INDEX);
    m.set(k, v);
  }
  return m;
}

/** Reads and checks every shard's header; returns each tensor with its shard. */
async function readHeaders(
  src: CheckpointReader,
  shards: string[],
  meter: StagingMeter,
): Promise<Map<string, { info: SafeTensorInfo; file: string }>> {
  const found = new Map<string, { info: SafeTensorInfo; file: string }>();
  for (const file of shards) {
    const size = await src.size(file);
    if (size === null) bad(`${file} is missing (${shards.length > 1 ? `${INDEX} names it` : 'no shard index'})`, file);
    if (size < 8) bad(`${file} is not a safetensors file (${size} bytes)`, file);
    const n = headerLength(await src.read(file, 0, 8), file);
    if (8 + n > size) bad(`${file}: its header of ${n} bytes does not fit the file`, file);
    const header = await src.read(file, 8, 8 + n);
    const st = meter.during(n, () => parseHeader(header, file));
    for (const t of st.tensors.values()) {
      if (t.end > size) bad(`${file}: ${t.name} ends past the file`, file);
      found.set(t.name, { info: t, file });
    }
  }
  return found;
}

/** Checks the checkpoint (`maps` found, of their shapes and a float dtype) or throws naming the first problem. */
function checkTensors(
  maps: Mapping[],
  found: Map<string, { info: SafeTensorInfo; file: string }>,
  index: Map<string, string> | null,
): void {
  for (const m of maps) {
    const t = found.get(m.hf);
    if (index) {
      const where = index.get(m.hf);
      if (!where) bad(`the checkpoint has no tensor ${m.hf} (${INDEX} does not list it)`, m.hf);
      if (!t || t.file !== where) bad(`${m.hf} is not in ${where}, where ${INDEX} puts it`, m.hf);
    }
    if (!t) bad(`the checkpoint has no tensor ${m.hf}`, m.hf);
    if (!(t.info.dtype in INPUT_FORMAT)) bad(`${m.hf} is ${t.info.dtype}; only BF16, F16 and F32 convert`, m.hf);
    if (JSON.stringify(t.info.shape) !== JSON.stringify(m.shape))
      bad(`${m.hf} has shape [${t.info.shape.join(', ')}]; config.json means [${m.shape.join(', ')}]`, m.hf);
  }
}

/** Converts the checkpoint `src` reads into `sink`: the reasoner weights, the tokenizer files and converted.json. */
export async function convertQwen2(
  src: CheckpointReader,
  sink: ConvertSink,
  o: ConvertOptions,
): Promise<ConvertResult> {
  const f = o.weights;
  const meter = o.meter ?? new StagingMeter();
  const blockBytes = o.blockBytes ?? 4 * 1024 * 1024;
  // ---- every check before anything is written
  const dims = qwen2Dims(await readJson(src, 'config.json', true));
  const k = K_MULTIPLE[f];
  const q = dims.num_attention_heads * dims.head_dim;
  for (const [name, v] of [
    ['hidden_size', dims.hidden_size],
    ['num_attention_heads × head_dim', q],
    ['intermediate_size', dims.intermediate_size],
  ] as const)
    if (v % k !== 0) bad(`${f} weights need ${name} (${v}) to be a multiple of ${k}`, 'weights');
  const index = await shardMap(src);
  const shards = index ? [...new Set(index.values())].sort() : [SINGLE];
  const found = await readHeaders(src, shards, meter);
  const maps = qwen2Mappings(dims);
  checkTensors(maps, found, index);
  const tensors = outputTensors(maps, found, f);
  // The tokenizer files last: parsing a real one (151k tokens) is the slowest check.
  const tokenizer = await readWhole(src, 'tokenizer.json');
  const tokenizerConfig = await readWhole(src, 'tokenizer_config.json');
  if (!tokenizer || !tokenizerConfig)
    bad('the checkpoint has no tokenizer.json or tokenizer_config.json', 'tokenizer.json');
  const asJson = (b: Uint8Array, what: string): unknown => {
    try {
      return JSON.parse(new TextDecoder().decode(b));
    } catch (e) {
      return bad(`${what} is not valid JSON: ${(e as Error).message}`, what);
    }
  };
  parseWith(TokenizerJsonSchema, asJson(tokenizer, 'tokenizer.json'), 'tokenizer.json');
  parseWith(TokenizerConfigSchema, asJson(tokenizerConfig, 'tokenizer_config.json'), 'tokenizer_config.json');
  const generation = await readWhole(src, 'generation_config.json');

  // ---- writing
  const files: FileEntry[] = [];
  const weights = `reasoner.${f}.safetensors`;
  const write = async (path: string, parts: (w: (b: Uint8Array) => Promise<void>) => Promise<void>, bytes: number) => {
    const w = await sink.create(path, bytes);
    const h = await createSHA256();
    h.init();
    let n = 0;
    await parts(async (b) => {
      h.update(b);
      n += b.byteLength;
      await w.write(b);
    });
    await w.close();
    if (n !== bytes) throw new RgError('INTERNAL', `${path}: wrote ${n} bytes, planned ${bytes}`);
    files.push({ path, bytes, sha256: h.digest('hex') });
  };
  const whole = (b: Uint8Array) => (put: (b: Uint8Array) => Promise<void>) => put(b);

  const header = headerBytes(tensors, f);
  const total = header.byteLength + tensors.reduce((a, t) => a + t.bytes, 0);
  await write(
    weights,
    async (put) => {
      await put(header);
      const scales = new Map<string, Uint8Array>();
      for (const t of tensors) {
        if (t.src.part === 'scale') {
          const s = scales.get(t.src.map.ours)!;
          scales.delete(t.src.map.ours);
          await put(s);
          meter.release(s.byteLength);
          continue;
        }
        const scale = await streamTensor(src, t, f, blockBytes, meter, put);
        if (scale) {
          meter.hold(scale.byteLength);
          scales.set(t.src.map.ours, scale);
        }
      }
    },
    total,
  );
  await write('tokenizer.json', whole(tokenizer), tokenizer.byteLength);
  await write('tokenizer_config.json', whole(tokenizerConfig), tokenizerConfig.byteLength);
  if (generation) await write('generation_config.json', whole(generation), generation.byteLength);
  const description = new TextEncoder().encode(
    JSON.stringify(
      {
        format: 'rg-vlm-converted-reasoner',
        format_version: 1,
        source: { model_type: 'qwen2', files: shards },
        weights: f,
        reasoner: dims,
        paths: {
          reasoner_weights: { [f]: weights },
          tokenizer: 'tokenizer.json',
          tokenizer_config: 'tokenizer_config.json',
        },
        files,
      },
      null,
      2,
    ) + '\n',
  );
  await write(CONVERTED_FILE, whole(description), description.byteLength);
  return { dims, files, weights };
}

/**
 * Writes tensor `t` (a vector as F32, or a matrix's elements in `f`) block by block; for int8 / int4 returns the
 * matrix's scales, which the file holds after its elements.
 */
async function streamTensor(
  src: CheckpointReader,
  t: OutTensor,
  f: WeightFormat,
  blockBytes: number,
  meter: StagingMeter,
  put: (b: Uint8Array) => Promise<void>,
): Promise<Uint8Array | null> {
  const { info, file, map, part } = t.src;
  const inFormat = INPUT_FORMAT[info.dtype]!;
  const per = DTYPE_BYTES[info.dtype]!;
  const [rows, cols] = map.shape.length === 2 ? map.shape : [1, map.shape[0]];
  const target: WeightFormat = part === 'vector' ? 'f32' : f;
  const rowsPer = Math.max(1, Math.floor(blockBytes / (cols * per)));
  const scale =
    target === 'int8' ? new Float32Array(rows) : target === 'int4' ? new Float32Array((rows * cols) / 32) : null;
  for (let r0 = 0; r0 < rows; r0 += rowsPer) {
    const r1 = Math.min(rows, r0 + rowsPer);
    const raw = await src.read(file, info.begin + r0 * cols * per, info.begin + r1 * cols * per);
    if (raw.byteLength !== (r1 - r0) * cols * per) bad(`${file}: ${map.hf} is cut short`, map.hf);
    meter.hold(raw.byteLength);
    try {
      const { words, scale: s } = weightArrays(convertWeight(inputBlock(raw, inFormat, r1 - r0, cols), target));
      const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength).slice();
      if (s && scale) scale.set(s, target === 'int8' ? r0 : (r0 * cols) / 32);
      meter.during(bytes.byteLength, () => undefined); // the converted block, held with the raw one
      await put(bytes);
    } finally {
      meter.release(raw.byteLength);
    }
  }
  return scale ? new Uint8Array(scale.buffer) : null;
}

/** Rows of an input tensor as the LinearWeightData of its dtype (copied when the bytes are not aligned). */
function inputBlock(raw: Uint8Array, format: WeightFormat, out: number, inn: number): LinearWeightData {
  const size = format === 'f32' ? 4 : 2;
  const b = raw.byteOffset % size === 0 ? raw : raw.slice();
  if (format === 'f32') return { format, out, in: inn, weight: new Float32Array(b.buffer, b.byteOffset, out * inn) };
  return { format: format as 'f16' | 'bf16', out, in: inn, weight: new Uint16Array(b.buffer, b.byteOffset, out * inn) };
}
