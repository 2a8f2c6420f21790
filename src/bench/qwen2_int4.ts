/**
 * @file The int4 weights both engines of the qwen2 benchmark read, as one tensor function (Qwen2Tensor): from a
 * pack's f32 reasoner file quantised as our loader does it, or random at a config of any shape; and that tensor
 * function written as an int4 reasoner safetensors file (docs/formats.md), which our engine loads as stored, so
 * both engines read the very same int4 bytes.
 */
import { RgError } from '../errors';
import type { LinearWeightData } from '../kernels/matmul.ref';
import { toWeightData } from '../kernels/weight_data';
import { parseSafetensors, tensorData } from '../packs/safetensors';
import type { Qwen2OnnxConfig, Qwen2Tensor } from './qwen2_onnx';
import { randomF32 } from './measure';

/** A tensor function over memoised values (each tensor is made once, and is then the same object). */
function memo(make: (name: string) => LinearWeightData | Float32Array): Qwen2Tensor {
  const made = new Map<string, LinearWeightData | Float32Array>();
  return (name) => {
    let t = made.get(name);
    if (!t) made.set(name, (t = make(name)));
    return t;
  };
}

/** The tensors of an f32 reasoner safetensors file, every matrix quantised to int4 (as the loader does it). */
export function int4TensorsFromF32(bytes: Uint8Array, what = 'reasoner.f32.safetensors'): Qwen2Tensor {
  const st = parseSafetensors(bytes, what);
  return memo((name) => {
    const info = st.tensors.get(name);
    if (!info) throw new RgError('BAD_INPUT', `${what} has no tensor ${name}`, { field: name });
    const data = tensorData(bytes, st, name, 'F32');
    return info.shape.length === 2 ? toWeightData(data, info.shape[0]!, info.shape[1]!, 'int4') : data;
  });
}

/**
 * Random int4 tensors at config `c`: matrices uniform in ±1/√in (so activations keep their scale through the
 * layers), norm weights near 1, biases small; seeded, so a run is repeatable.
 */
export function randomInt4Tensors(c: Qwen2OnnxConfig, seed = 1): Qwen2Tensor {
  const shapes = int4Shapes(c);
  let k = 0;
  return memo((name) => {
    const shape = shapes.get(name);
    if (!shape) throw new RgError('BAD_INPUT', `no tensor ${name} in a Qwen2 of this config`, { field: name });
    const s = seed * 1000 + k++;
    if (shape.length === 2) {
      const [out, inn] = shape as [number, number];
      return toWeightData(randomF32(out * inn, s, 1 / Math.sqrt(inn)), out, inn, 'int4');
    }
    const v = randomF32(shape[0]!, s, 0.1);
    if (name.endsWith('norm.weight')) for (let i = 0; i < v.length; i++) v[i]! += 1;
    return v;
  });
}

/** Every tensor of a Qwen2 at config `c` by name: matrices `P.weight` [out, in], norms and biases [n]. */
export function int4Shapes(c: Qwen2OnnxConfig): Map<string, number[]> {
  const H = c.hidden_size;
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  const I = c.intermediate_size;
  const m = new Map<string, number[]>([['embed_tokens.weight', [c.vocab_size, H]]]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `layers.${l}`;
    m.set(`${p}.input_layernorm.weight`, [H]);
    m.set(`${p}.post_attention_layernorm.weight`, [H]);
    for (const [n, out] of [
      ['q', q],
      ['k', kv],
      ['v', kv],
    ] as const) {
      m.set(`${p}.self_attn.${n}_proj.weight`, [out, H]);
      if (c.attention_bias) m.set(`${p}.self_attn.${n}_proj.bias`, [out]);
    }
    m.set(`${p}.self_attn.o_proj.weight`, [H, q]);
    m.set(`${p}.mlp.gate_proj.weight`, [I, H]);
    m.set(`${p}.mlp.up_proj.weight`, [I, H]);
    m.set(`${p}.mlp.down_proj.weight`, [H, I]);
  }
  m.set('norm.weight', [H]);
  if (!c.tie_word_embeddings) m.set('lm_head.weight', [c.vocab_size, H]);
  return m;
}

/**
 * The int4 reasoner safetensors file of `tensor` at config `c` (every matrix as `P.weight_q4` U8 + `P.weight_scale`
 * F32, norms and biases F32), in the layout our loader reads as stored.
 */
export function int4Safetensors(c: Qwen2OnnxConfig, tensor: Qwen2Tensor): Uint8Array {
  const parts: [string, 'U8' | 'F32', number[], Uint8Array | Float32Array][] = [];
  for (const [name, shape] of int4Shapes(c)) {
    const t = tensor(name);
    if (shape.length === 2) {
      if (t instanceof Float32Array || t.format !== 'int4')
        throw new RgError('BAD_INPUT', `tensor ${name} must be int4 LinearWeightData`, { field: name });
      const p = name.slice(0, -'.weight'.length);
      parts.push([`${p}.weight_q4`, 'U8', [t.out, t.in / 2], t.weightQ4]);
      parts.push([`${p}.weight_scale`, 'F32', [t.out, t.in / 32], t.weightScale]);
    } else {
      if (!(t instanceof Float32Array))
        throw new RgError('BAD_INPUT', `tensor ${name} must be a Float32Array`, { field: name });
      parts.push([name, 'F32', shape, t]);
    }
  }
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', 'rgvlm.quantisation': 'int4' } };
  let at = 0;
  for (const [name, dtype, shape, data] of parts) {
    header[name] = { dtype, shape, data_offsets: [at, at + data.byteLength] };
    // Every tensor starts at a multiple of 4 bytes: the int4 byte arrays are [out, in / 2] with in a multiple of 32.
    at += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let o = 8 + head.length;
  for (const [, , , data] of parts) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), o);
    o += data.byteLength;
  }
  return out;
}
