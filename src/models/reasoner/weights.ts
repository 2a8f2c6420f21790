/**
 * @file The reasoner engine's weights: the pack's `reasoner.f32.safetensors` (the Qwen2 text decoder under the
 * PyTorch `ReasonerLM` state-dict names, docs/formats.md) checked name by name and shape by shape against the
 * config, and uploaded into GPU buffers this object owns. Two pairs are fused at upload so a layer runs fewer
 * matmuls: q/k/v (rows [q | k | v], biases likewise, the painter's `qkv_proj` layout) and gate/up (rows
 * [gate | up], the layout the swiglu kernel reads): the shared DecoderLayerWeights (src/models/layers/weights.ts).
 */
import { RgError } from '../../errors';
import type { LinearWeight } from '../../kernels/matmul';
import type { ReasonerConfig } from '../../packs/manifest';
import { parseSafetensors, tensorBytes, type SafeTensors } from '../../packs/safetensors';
import type { PackSource } from '../../packs/source';
import { uploadBuffer } from '../../gpu/readback';
import type { DecoderLayerWeights, GpuLinear } from '../layers/weights';

export interface ReasonerWeights {
  /** `embed_tokens.weight` F32 [vocab, hidden]. */
  embed: GPUBuffer;
  layers: DecoderLayerWeights[];
  /** The final RMSNorm weight [hidden]. */
  norm: GPUBuffer;
  /** `lm_head.weight`, or the embedding table when `tie_word_embeddings`. */
  lmHead: LinearWeight;
  /** Bytes uploaded. */
  bytes: number;
  dispose(): void;
}

/** Every tensor the file must hold, with its shape (and nothing else may be in it). */
export function reasonerTensorShapes(c: ReasonerConfig): Map<string, number[]> {
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

/** Checks `st` against the config: every expected tensor present, F32, of its shape; no other tensor. */
export function checkReasonerTensors(st: SafeTensors, c: ReasonerConfig, what = 'reasoner weights'): void {
  const want = reasonerTensorShapes(c);
  const bad = (msg: string): never => {
    throw new RgError('INTEGRITY', `${what}: ${msg}`, {
      hint: 'The weights file does not match the pack manifest; re-download the pack.',
    });
  };
  for (const [name, shape] of want) {
    const t = st.tensors.get(name);
    if (!t) bad(`missing tensor ${name}`);
    if (t!.dtype !== 'F32') bad(`${name} is ${t!.dtype}, expected F32`);
    if (t!.shape.length !== shape.length || t!.shape.some((d, i) => d !== shape[i]))
      bad(`${name} is [${t!.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  const extra = [...st.tensors.keys()].filter((n) => !want.has(n));
  if (extra.length)
    bad(
      `unexpected tensor${extra.length > 1 ? 's' : ''} ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? '…' : ''}`,
    );
}

/** Uploads a parsed reasoner safetensors file (already read) to `device`. Throws RgError('INTEGRITY') on a bad file. */
export function uploadReasonerWeights(
  device: GPUDevice,
  bytes: Uint8Array,
  c: ReasonerConfig,
  what = 'reasoner.f32.safetensors',
): ReasonerWeights {
  const st = parseSafetensors(bytes, what);
  checkReasonerTensors(st, c, what);
  const buffers: GPUBuffer[] = [];
  let total = 0;
  /** One buffer holding the named tensors back to back. */
  const up = (label: string, ...names: string[]): GPUBuffer => {
    const parts = names.map((n) => tensorBytes(bytes, st, n));
    const size = parts.reduce((a, p) => a + p.byteLength, 0);
    const data = new Uint8Array(size);
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.byteLength;
    }
    const buf = uploadBuffer(device, data, label);
    buffers.push(buf);
    total += size;
    return buf;
  };
  try {
    const H = c.hidden_size;
    const q = c.num_attention_heads * c.head_dim;
    const kv = c.num_key_value_heads * c.head_dim;
    const I = c.intermediate_size;
    const lin = (label: string, out: number, inn: number, weights: string[], biases?: string[]): GpuLinear => ({
      w: { format: 'f32', out, in: inn, weight: up(label, ...weights) },
      bias: biases ? up(`${label} bias`, ...biases) : undefined,
    });
    const embed = up('reasoner embed_tokens', 'embed_tokens.weight');
    const layers = Array.from({ length: c.num_hidden_layers }, (_, l): DecoderLayerWeights => {
      const p = `layers.${l}`;
      const qkvNames = ['q', 'k', 'v'].map((n) => `${p}.self_attn.${n}_proj`);
      return {
        inputNorm: up(`reasoner ${p}.input_layernorm`, `${p}.input_layernorm.weight`),
        postNorm: up(`reasoner ${p}.post_attention_layernorm`, `${p}.post_attention_layernorm.weight`),
        qkv: lin(
          `reasoner ${p}.qkv`,
          q + 2 * kv,
          H,
          qkvNames.map((n) => `${n}.weight`),
          c.attention_bias ? qkvNames.map((n) => `${n}.bias`) : undefined,
        ),
        o: lin(`reasoner ${p}.o_proj`, H, q, [`${p}.self_attn.o_proj.weight`]),
        gateUp: lin(`reasoner ${p}.gate_up`, 2 * I, H, [`${p}.mlp.gate_proj.weight`, `${p}.mlp.up_proj.weight`]),
        down: lin(`reasoner ${p}.down_proj`, H, I, [`${p}.mlp.down_proj.weight`]),
      };
    });
    const norm = up('reasoner norm', 'norm.weight');
    const lmHead: LinearWeight = {
      format: 'f32',
      out: c.vocab_size,
      in: H,
      weight: c.tie_word_embeddings ? embed : up('reasoner lm_head', 'lm_head.weight'),
    };
    return {
      embed,
      layers,
      norm,
      lmHead,
      bytes: total,
      dispose: () => {
        for (const b of buffers) b.destroy();
        buffers.length = 0;
      },
    };
  } catch (e) {
    for (const b of buffers) b.destroy();
    throw e;
  }
}

/** Reads the pack's reasoner weights through `source` and uploads them; null when the pack has none. */
export async function loadReasonerWeights(
  device: GPUDevice,
  source: PackSource,
  onProgress?: Parameters<PackSource['file']>[1],
): Promise<ReasonerWeights | null> {
  const m = await source.manifest();
  const path = m.paths.reasoner_weights;
  if (!path) return null;
  return uploadReasonerWeights(device, await source.file(path, onProgress), m.reasoner, `${m.id}/${path}`);
}
