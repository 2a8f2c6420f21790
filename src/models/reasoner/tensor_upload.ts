/**
 * @file The reasoner engine's weights from tensors already on the CPU (a getter by the names of
 * `reasonerTensors(config)`, e.g. the seeded random weights of random_pack.ts) instead of a safetensors file: the
 * same fusing (q/k/v and gate/up by rows) and sharding as `uploadReasonerWeights`, one matrix at a time, so a
 * model far larger than a safetensors file the page could assemble is uploaded with one matrix in memory at once.
 */
import { RgError } from '../../errors';
import { uploadBuffer } from '../../gpu/readback';
import type { AnyWeight } from '../../kernels/matmul';
import type { LinearWeightData } from '../../kernels/matmul.ref';
import { concatRows } from '../../kernels/weight_data';
import type { ReasonerConfig } from '../../packs/manifest';
import { uploadWeight, type DecoderLayerWeights, type GpuLinear } from '../layers/weights';
import type { TensorGetter } from './random_pack';
import { checkEngineSupport, deviceBindingLimit, reasonerTensorShapes, type ReasonerWeights } from './weights';

/**
 * Uploads every tensor of `config` that `get` returns (all matrices in one format; norms and biases F32), checked
 * against the config's shapes. `maxBindingBytes` lowers the shard limit (tests). Leaves no buffer behind when it
 * throws.
 */
export function uploadReasonerTensors(
  device: GPUDevice,
  config: ReasonerConfig,
  get: TensorGetter,
  opts: { maxBindingBytes?: number; what?: string } = {},
): ReasonerWeights {
  checkEngineSupport(config);
  const what = opts.what ?? 'reasoner tensors';
  const shapes = reasonerTensorShapes(config);
  const limit = opts.maxBindingBytes ?? deviceBindingLimit(device);
  const buffers: GPUBuffer[] = [];
  let total = 0;
  let format: LinearWeightData['format'] | null = null;
  const bad = (msg: string): never => {
    throw new RgError('INTEGRITY', `${what}: ${msg}`);
  };
  const vector = (name: string): Float32Array => {
    const t = get(name);
    const n = shapes.get(name)?.[0];
    if (!(t instanceof Float32Array) || t.length !== n) bad(`${name} is not F32 [${n}]`);
    return t as Float32Array;
  };
  const matrix = (name: string): LinearWeightData => {
    const t = get(name);
    const [out, inn] = shapes.get(name) ?? [];
    if (t instanceof Float32Array || t.out !== out || t.in !== inn) bad(`${name} is not a [${out}, ${inn}] matrix`);
    const d = t as LinearWeightData;
    if ((format ??= d.format) !== d.format) bad(`${name} is ${d.format}, the other matrices ${format}`);
    return d;
  };
  const upVectors = (label: string, names: string[]): GPUBuffer => {
    const parts = names.map(vector);
    const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    const b = uploadBuffer(device, data, label);
    buffers.push(b);
    total += data.byteLength;
    return b;
  };
  const upMatrix = (label: string, names: string[]): AnyWeight => {
    const d = concatRows(names.map(matrix));
    const r = uploadWeight(device, d, label, limit, buffers);
    total += r.bytes;
    return r.weight;
  };
  try {
    const embed = upMatrix('reasoner embed_tokens', ['embed_tokens.weight']);
    const layers = Array.from({ length: config.num_hidden_layers }, (_, l): DecoderLayerWeights => {
      const p = `layers.${l}`;
      const lin = (label: string, prefixes: string[], bias: boolean): GpuLinear => ({
        w: upMatrix(
          label,
          prefixes.map((x) => `${x}.weight`),
        ),
        bias: bias
          ? upVectors(
              `${label} bias`,
              prefixes.map((x) => `${x}.bias`),
            )
          : undefined,
      });
      const attn = ['q', 'k', 'v'].map((n) => `${p}.self_attn.${n}_proj`);
      return {
        inputNorm: upVectors(`reasoner ${p}.input_layernorm`, [`${p}.input_layernorm.weight`]),
        postNorm: upVectors(`reasoner ${p}.post_attention_layernorm`, [`${p}.post_attention_layernorm.weight`]),
        qkv: lin(`reasoner ${p}.qkv`, attn, config.attention_bias),
        o: lin(`reasoner ${p}.o_proj`, [`${p}.self_attn.o_proj`], false),
        gateUp: lin(`reasoner ${p}.gate_up`, [`${p}.mlp.gate_proj`, `${p}.mlp.up_proj`], false),
        down: lin(`reasoner ${p}.down_proj`, [`${p}.mlp.down_proj`], false),
      };
    });
    const norm = upVectors('reasoner norm', ['norm.weight']);
    const lmHead = config.tie_word_embeddings ? embed : upMatrix('reasoner lm_head', ['lm_head.weight']);
    return {
      format: format!,
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
