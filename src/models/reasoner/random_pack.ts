/**
 * @file Seeded random reasoner weights of a real model's shape, made on demand (never committed): the same
 * tensors a pack's reasoner safetensors holds (the names of `reasonerTensors(config)`, src/models/reasoner/
 * weights.ts), generated straight in a storage format, deterministically from (seed, tensor name, word index) by
 * a counter-based hash, so any tensor can be made alone, in any order, in the page or in Node.
 *
 * Every matrix is made as int4 block-32 (docs/formats.md): its packed bytes are the hash's words (a nibble 0,
 * i.e. q = −8, is read as 8, i.e. q = 0, so q is symmetric in −7…7), each block's scale has at most 8
 * significant bits. A product q · s then has at most 11 significant bits, so the f32 and f16
 * forms (dequantised) hold exactly the same values: the three formats are the same model, and a difference between
 * engines on them is the engines', not the weights'.
 *
 * Magnitudes keep 24 layers sane: element variance ≈ 1/in (gain² / in for the embedding), so a matmul of a normed
 * row keeps unit scale; norms are 1 ± 0.1; q/k/v biases are uniform in ±0.5. The tied embedding has gain 4 so the
 * logits (normed row · embedding row) have a spread of about 4 and greedy top-1/top-2 margins far above the
 * engines' rounding.
 */
import type { LinearWeightData } from '../../kernels/matmul.ref';
import { dequantizeInt4, toF16 } from '../../kernels/quantize';
import type { ReasonerConfig } from '../../packs/manifest';
import { reasonerTensorShapes } from './weights';

/** The shape of Qwen2.5-0.5B's text decoder (Hugging Face config names), with placeholder token ids. */
const QWEN25_05B: ReasonerConfig = {
  vocab_size: 151_936,
  hidden_size: 896,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  head_dim: 64,
  intermediate_size: 4_864,
  max_position_embeddings: 32_768,
  rope_theta: 1_000_000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
  attention_bias: true,
  // The engine never reads the vision tower; these only make a valid config.
  vision: {
    image_size: 28,
    patch_size: 14,
    num_channels: 3,
    hidden_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: 64,
    layer_norm_eps: 1e-6,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
    num_patches: 4,
  },
  image_token: '<image>',
  image_token_id: 151_655,
  num_image_tokens: 4,
  bos_token_id: null,
  eos_token_ids: [151_645, 151_643],
  pad_token_id: 151_643,
  special_tokens: {
    endoftext: 151_643,
    im_start: 151_644,
    im_end: 151_645,
    think_start: 151_646,
    think_end: 151_647,
    answer_start: 151_648,
    answer_end: 151_649,
    image: 151_655,
  },
  condition_hidden: 'pre_norm',
  condition_answer_end_row: true,
};

/**
 * Config presets: `qwen2.5-0.5b-shape` (24 layers) and `few-layer` (the same dimensions, 2 layers, for fast tests).
 */
export const REAL_SHAPE_PRESETS = {
  'qwen2.5-0.5b-shape': QWEN25_05B,
  'few-layer': { ...QWEN25_05B, num_hidden_layers: 2 },
} as const satisfies Record<string, ReasonerConfig>;
export type RealShapePreset = keyof typeof REAL_SHAPE_PRESETS;

/** The formats the random weights are made in: the same values in each (see the file comment). */
export type RealShapeFormat = 'int4' | 'f16' | 'f32';

/** A tensor by its name in `reasonerTensors(config)`: a matrix as LinearWeightData, a norm or bias as F32. */
export type TensorGetter = (name: string) => LinearWeightData | Float32Array;

/** The tied embedding's gain: the spread of the logits. */
const EMBED_GAIN = 4;
/** √E[q²] for q uniform on −7…7 with 0 drawn twice as often (nibbles 0 and 8): √(2 · 140 / 16). */
const Q_RMS = Math.sqrt(17.5);

/** FNV-1a of the name: each tensor has its own stream, whatever the preset's layer count. */
function nameKey(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const f1 = new Float32Array(1);
const u1 = new Uint32Array(f1.buffer);

/** f32 `v` cut to 8 significant bits (toward zero). */
function eightBits(v: number): number {
  f1[0] = v;
  u1[0] = u1[0]! & 0xffff0000; // 7 stored mantissa bits + the implicit one
  return f1[0]!;
}

/** A 32-bit mixing bijection (xor-shift-multiply rounds, murmur3's finaliser). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The stream of one tensor: word i is mix32(i · φ ^ key), key made from the seed and the name. */
export function streamKey(seed: number, name: string): number {
  return mix32(mix32(seed >>> 0) ^ nameKey(name));
}

/** Word `i` of stream `key`, as a uniform in [0, 1) (24 bits). */
export function uniform(key: number, i: number): number {
  return (mix32(Math.imul(i, 0x9e3779b9) ^ key) >>> 8) * 2 ** -24;
}

/** An int4 [out, inn] matrix of element variance ≈ gain² / inn (see the file comment). */
export function randomInt4(out: number, inn: number, gain: number, key: number): LinearWeightData {
  const blocks = (out * inn) / 32;
  const q = new Uint8Array(blocks * 16);
  // Word w of the stream is bytes 4w…4w+3 (little-endian, as every WebGPU platform).
  const words = new Uint32Array(q.buffer);
  const scale = new Float32Array(blocks);
  // s = base · (0.5 + u): E[s²] = base² · 13/12.
  const base = gain / (Q_RMS * Math.sqrt(inn) * Math.sqrt(13 / 12));
  for (let w = 0; w < words.length; w++) {
    const h = mix32(Math.imul(w, 0x9e3779b9) ^ key);
    // A zero nibble (q = −8) becomes 8 (q = 0): bit 0 of `zero` marks each nibble that has no bit set.
    const zero = ~(h | (h >>> 1) | (h >>> 2) | (h >>> 3)) & 0x11111111;
    words[w] = h | (zero << 3);
  }
  // Scales from the words after the nibbles' (the stream is one per tensor).
  for (let b = 0; b < blocks; b++) scale[b] = eightBits(base * (0.5 + uniform(key, words.length + b)));
  return { format: 'int4', out, in: inn, weightQ4: q, weightScale: scale };
}

/** F32 [n] = centre + half-width · (2u − 1). */
export function randomVector(n: number, centre: number, halfWidth: number, key: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => centre + halfWidth * (2 * uniform(key, i) - 1));
}

/** `w` (int4) in `format`: the same values (exact, see the file comment). */
export function asFormat(w: LinearWeightData, format: RealShapeFormat): LinearWeightData {
  if (w.format !== 'int4') throw new RangeError(`asFormat: an int4 weight expected, got ${w.format}`);
  if (format === 'int4') return w;
  const f32 = dequantizeInt4(w.weightQ4, w.weightScale, w.out, w.in);
  if (format === 'f32') return { format, out: w.out, in: w.in, weight: f32 };
  return { format, out: w.out, in: w.in, weight: toF16(f32) };
}

/**
 * The seeded random weights of `config` in `format`: a getter of each tensor by its name in
 * `reasonerTensors(config)` (the f32 file's names: `embed_tokens.weight`, `layers.L.self_attn.q_proj.weight`,
 * `….q_proj.bias`, `layers.L.input_layernorm.weight`, `norm.weight`, …), made anew on every call (wrap it in
 * `memoTensors` to keep them). The same (config dimensions, seed) give the same values in every format and on
 * every machine; another engine compared with ours must take its weights from here.
 */
export function realShapeWeights(config: ReasonerConfig, seed: number, format: RealShapeFormat = 'int4'): TensorGetter {
  const shapes = reasonerTensorShapes(config);
  return (name) => {
    const shape = shapes.get(name);
    if (!shape) throw new RangeError(`realShapeWeights: no tensor ${name} in this config`);
    const key = streamKey(seed, name);
    if (shape.length === 2) {
      const gain = name === 'embed_tokens.weight' || name === 'lm_head.weight' ? EMBED_GAIN : 1;
      return asFormat(randomInt4(shape[0]!, shape[1]!, gain, key), format);
    }
    return name.endsWith('.bias') ? randomVector(shape[0]!, 0, 0.5, key) : randomVector(shape[0]!, 1, 0.1, key);
  };
}

/** `get` with every tensor kept after its first call (the CPU twin reads each matrix once per step). */
export function memoTensors(get: TensorGetter): TensorGetter {
  const kept = new Map<string, LinearWeightData | Float32Array>();
  return (name) => {
    let t = kept.get(name);
    if (!t) kept.set(name, (t = get(name)));
    return t;
  };
}

/** The bytes of the weights of `config` in `format` (matrices as stored, norms and biases F32). */
export function realShapeBytes(config: ReasonerConfig, format: RealShapeFormat): number {
  let total = 0;
  for (const shape of reasonerTensorShapes(config).values()) {
    const n = shape.reduce((a, d) => a * d, 1);
    if (shape.length === 1) total += 4 * n;
    else total += format === 'f32' ? 4 * n : format === 'f16' ? 2 * n : n / 2 + (n / 32) * 4;
  }
  return total;
}
