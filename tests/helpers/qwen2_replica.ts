/**
 * @file A tiny Qwen2 checkpoint in the Hugging Face layout, made from a seed at test time (not committed): config.json
 * as transformers writes it for Qwen2ForCausalLM, the real repos' tensor names in BF16 (or F16 / F32), split into
 * two shards with model.safetensors.index.json (or one model.safetensors), and the tokenizer files given. Values are
 * seeded uniforms: matrices in ±`scale`, norms near 1, biases small.
 */
import { toBf16, toF16 } from '../../src/kernels/quantize';
import type { SafeDtype } from '../../src/packs/safetensors';
import { randomF32 } from './rng';
import { writeSafetensors } from './safetensors';

export interface ReplicaOptions {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  tie: boolean;
  dtype: 'BF16' | 'F16' | 'F32';
  shards: 1 | 2;
  seed: number;
  /** Matrix values are uniform in ±scale. */
  scale: number;
}

export const REPLICA_DEFAULTS: ReplicaOptions = {
  vocab: 512,
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  intermediate: 128,
  tie: false,
  dtype: 'BF16',
  shards: 2,
  seed: 20,
  scale: 0.08,
};

/** The checkpoint's f32 values by Hugging Face name (what the file holds, already rounded to its dtype). */
export type ReplicaTensors = Map<string, { shape: number[]; values: Float32Array }>;

/** config.json of the replica (the fields Qwen2Config writes). */
export function replicaConfig(o: ReplicaOptions): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    hidden_act: 'silu',
    hidden_size: o.hidden,
    initializer_range: 0.02,
    intermediate_size: o.intermediate,
    max_position_embeddings: 4096,
    max_window_layers: o.layers,
    model_type: 'qwen2',
    num_attention_heads: o.heads,
    num_hidden_layers: o.layers,
    num_key_value_heads: o.kvHeads,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000.0,
    sliding_window: 4096,
    tie_word_embeddings: o.tie,
    torch_dtype: o.dtype === 'BF16' ? 'bfloat16' : o.dtype === 'F16' ? 'float16' : 'float32',
    transformers_version: '4.43.1',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: o.vocab,
  };
}

/** Every tensor of the replica (HF names, in the order Qwen2ForCausalLM's state dict lists them). */
export function replicaTensors(o: ReplicaOptions): ReplicaTensors {
  const d = o.hidden / o.heads;
  const m: ReplicaTensors = new Map();
  let seed = o.seed * 1000;
  const round = (v: Float32Array) =>
    o.dtype === 'F32' ? v : o.dtype === 'BF16' ? bf16Values(toBf16(v)) : f16Values(toF16(v));
  const add = (name: string, shape: number[], lo: number, hi: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    m.set(name, { shape, values: round(randomF32(n, seed++, lo, hi)) });
  };
  const s = o.scale;
  add('model.embed_tokens.weight', [o.vocab, o.hidden], -1, 1);
  for (let l = 0; l < o.layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.self_attn.q_proj.weight`, [o.heads * d, o.hidden], -s, s);
    add(`${p}.self_attn.q_proj.bias`, [o.heads * d], -s, s);
    add(`${p}.self_attn.k_proj.weight`, [o.kvHeads * d, o.hidden], -s, s);
    add(`${p}.self_attn.k_proj.bias`, [o.kvHeads * d], -s, s);
    add(`${p}.self_attn.v_proj.weight`, [o.kvHeads * d, o.hidden], -s, s);
    add(`${p}.self_attn.v_proj.bias`, [o.kvHeads * d], -s, s);
    add(`${p}.self_attn.o_proj.weight`, [o.hidden, o.heads * d], -s, s);
    add(`${p}.mlp.gate_proj.weight`, [o.intermediate, o.hidden], -s, s);
    add(`${p}.mlp.up_proj.weight`, [o.intermediate, o.hidden], -s, s);
    add(`${p}.mlp.down_proj.weight`, [o.hidden, o.intermediate], -s, s);
    add(`${p}.input_layernorm.weight`, [o.hidden], 0.8, 1.2);
    add(`${p}.post_attention_layernorm.weight`, [o.hidden], 0.8, 1.2);
  }
  add('model.norm.weight', [o.hidden], 0.8, 1.2);
  if (!o.tie) add('lm_head.weight', [o.vocab, o.hidden], -s * 4, s * 4);
  return m;
}

function bf16Values(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
  return out;
}

function f16Values(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const e = (h[i]! >> 10) & 31;
    const f = h[i]! & 1023;
    const v = e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15);
    out[i] = h[i]! & 0x8000 ? -v : v;
  }
  return out;
}

/** One safetensors file of `names` in the replica's dtype, as the HF writer orders them (by name). */
function shardFile(t: ReplicaTensors, names: string[], dtype: ReplicaOptions['dtype']): Uint8Array {
  const data = (v: Float32Array): ArrayBufferView => (dtype === 'F32' ? v : dtype === 'BF16' ? toBf16(v) : toF16(v));
  return writeSafetensors(
    [...names].sort().map((n) => [n, dtype as SafeDtype, t.get(n)!.shape, data(t.get(n)!.values)]),
  );
}

/** The replica's files by path: config.json, the shard(s) (+ index), the given tokenizer files. */
export function makeQwen2Replica(
  opts: Partial<ReplicaOptions>,
  tokenizerFiles: Record<string, Uint8Array>,
): { files: Map<string, Uint8Array>; tensors: ReplicaTensors; options: ReplicaOptions } {
  const o = { ...REPLICA_DEFAULTS, ...opts };
  const tensors = replicaTensors(o);
  const files = new Map<string, Uint8Array>();
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x, null, 2) + '\n');
  files.set('config.json', enc(replicaConfig(o)));
  files.set('generation_config.json', enc({ bos_token_id: 151643, eos_token_id: [151645, 151643] }));
  const names = [...tensors.keys()];
  if (o.shards === 1) {
    files.set('model.safetensors', shardFile(tensors, names, o.dtype));
  } else {
    // The split transformers makes: whole tensors, the first shard up to about half the bytes.
    const half = names.length >> 1;
    const parts = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    let total = 0;
    parts.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      files.set(file, shardFile(tensors, part, o.dtype));
      for (const n of part) {
        weightMap[n] = file;
        total += tensors.get(n)!.values.length * (o.dtype === 'F32' ? 4 : 2);
      }
    });
    const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
    files.set('model.safetensors.index.json', enc({ metadata: { total_size: total }, weight_map: sorted }));
  }
  for (const [k, v] of Object.entries(tokenizerFiles)) files.set(k, v);
  return { files, tensors, options: o };
}
