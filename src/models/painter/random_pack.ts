/**
 * @file Seeded random painter weights of OmniGen's layer shape, made on demand (never committed): the tensors of a
 * painter safetensors file (docs/formats.md "Connector + painter", OmniGen's separate time embedders), made from
 * (seed, tensor name, word index) by the counter hash of the reasoner's random pack (../reasoner/random_pack.ts),
 * so any tensor can be made alone, in any order, and another engine compared with ours gets the same values.
 *
 * As a quantised painter file holds them: the four projections inside the layers (qkv, o, gate_up, down) are made
 * as int4 block-32 and given in the requested format (f32: the same values dequantised, exactly); every other
 * matrix is F32, made as int4 and dequantised (x_embedder, whose 16 inputs are no whole int4 block, as uniform F32).
 *
 * The connector is left out: these engines are compared on the DiT alone, fed a condition already in the painter's
 * width. Our engine runs it through a connector of no layers whose input_proj is the identity (exact in f32), so its
 * DiT sees the condition exactly as given.
 */
import type { LinearWeightData } from '../../kernels/matmul.ref';
import type { ConnectorConfig, PainterConfig, WeightVariant } from '../../packs/manifest';
import { RgError } from '../../errors';
import { uploadBuffer } from '../../gpu/readback';
import { deviceBindingLimit } from '../reasoner/weights';
import {
  asFormat,
  randomInt4,
  randomVector,
  streamKey,
  uniform,
  type RealShapeFormat,
  type TensorGetter,
} from '../reasoner/random_pack';
import { uploadWeight, type DecoderLayerWeights, type GpuLinear } from '../layers/weights';
import type { PainterWeights, TimeEmbedder } from './weights';

/** OmniGen's DiT layer: hidden 3072, 32 heads × 96 (no GQA), intermediate 8,192, 4 latent channels, patch 2. */
export function omnigenShape(layers: number): PainterConfig {
  return {
    hidden_size: 3072,
    num_hidden_layers: layers,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    head_dim: 96,
    intermediate_size: 8192,
    rope_theta: 10_000,
    rms_norm_eps: 1e-5,
    latent_channels: 4,
    patch_size: 2,
    timestep_freq_dim: 256,
    timestep_scale: 1,
    time_embedders: 'separate',
    timestep_max_period: 10_000,
    final_norm_eps: 1e-6,
    pos_embed_max_size: 192,
    pos_embed_scale: 1,
    pos_embed_base: 10_000,
  };
}

/** The same code path at small width for fast tests: head_dim 96 as OmniGen, 2 heads, intermediate 256. */
export function omnigenTinyShape(layers: number): PainterConfig {
  return {
    ...omnigenShape(layers),
    hidden_size: 192,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    intermediate_size: 256,
  };
}

/** The shapes of every painter tensor of `pc` (OmniGen's names, docs/formats.md), by name. */
export function painterTensorShapes(pc: PainterConfig): Map<string, number[]> {
  const D = pc.hidden_size;
  const F = pc.latent_channels * pc.patch_size ** 2;
  const s = new Map<string, number[]>();
  const lin = (p: string, out: number, inn: number, bias: boolean) => {
    s.set(`${p}.weight`, [out, inn]);
    if (bias) s.set(`${p}.bias`, [out]);
  };
  lin('painter.x_embedder', D, F, true);
  for (const e of ['time_token', 't_embedder']) {
    lin(`painter.${e}.mlp.0`, D, pc.timestep_freq_dim, true);
    lin(`painter.${e}.mlp.2`, D, D, true);
  }
  const qkv = (pc.num_attention_heads + 2 * pc.num_key_value_heads) * pc.head_dim;
  for (let l = 0; l < pc.num_hidden_layers; l++) {
    const p = `painter.layers.${l}`;
    s.set(`${p}.input_layernorm.weight`, [D]);
    s.set(`${p}.post_attention_layernorm.weight`, [D]);
    lin(`${p}.self_attn.qkv_proj`, qkv, D, false);
    lin(`${p}.self_attn.o_proj`, D, pc.num_attention_heads * pc.head_dim, false);
    lin(`${p}.mlp.gate_up_proj`, 2 * pc.intermediate_size, D, false);
    lin(`${p}.mlp.down_proj`, D, pc.intermediate_size, false);
  }
  s.set('painter.norm.weight', [D]);
  lin('painter.final_layer.adaLN_modulation', 2 * D, D, true);
  lin('painter.final_layer.linear', F, D, true);
  return s;
}

/** Whether `name` is one of the four projections a quantised painter file stores quantised. */
export function isLayerProjection(name: string): boolean {
  return /^painter\.layers\.\d+\.(self_attn\.(qkv|o)_proj|mlp\.(gate_up|down)_proj)\.weight$/.test(name);
}

/**
 * The seeded random painter of `pc`: a getter of each tensor by its name in `painterTensorShapes(pc)`, the layer
 * projections in `format`, everything else F32 (see the file comment); made anew on every call.
 */
export function randomPainterWeights(pc: PainterConfig, seed: number, format: RealShapeFormat = 'int4'): TensorGetter {
  const shapes = painterTensorShapes(pc);
  return (name) => {
    const shape = shapes.get(name);
    if (!shape)
      throw new RgError('BAD_INPUT', `randomPainterWeights: no tensor ${name} in this config`, { field: name });
    const key = streamKey(seed, name);
    if (shape.length === 1) {
      if (name.endsWith('.bias')) return randomVector(shape[0]!, 0, 0.1, key);
      return randomVector(shape[0]!, 1, 0.1, key);
    }
    const [out, inn] = shape as [number, number];
    if (inn % 32) {
      // Uniform on ±√(3 / in): element variance 1 / in.
      const a = Math.sqrt(3 / inn);
      const weight = Float32Array.from({ length: out * inn }, (_, i) => a * (2 * uniform(key, i) - 1));
      return { format: 'f32', out, in: inn, weight };
    }
    return asFormat(randomInt4(out, inn, 1, key), isLayerProjection(name) ? format : 'f32');
  };
}

/** The connector config of a connector of no layers (identity input_proj) in the painter's width. */
export function identityConnector(pc: PainterConfig): ConnectorConfig {
  const { hidden_size, num_attention_heads, num_key_value_heads, head_dim, intermediate_size } = pc;
  return {
    input_size: hidden_size,
    hidden_size,
    num_hidden_layers: 0,
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    intermediate_size,
    rope_theta: pc.rope_theta,
    rms_norm_eps: pc.rms_norm_eps,
    final_norm: false,
  };
}

/**
 * Uploads the painter of `pc` from `get` (as randomPainterWeights gives it) with the identity connector, each
 * matrix as given (sharded past the device's binding limit). Leaves no buffer behind when it throws.
 */
export function uploadPainterTensors(device: GPUDevice, pc: PainterConfig, get: TensorGetter): PainterWeights {
  const shapes = painterTensorShapes(pc);
  const limit = deviceBindingLimit(device);
  const buffers: GPUBuffer[] = [];
  let bytes = 0;
  let variant: WeightVariant = 'f32';
  const vector = (name: string): GPUBuffer => {
    const t = get(name);
    if (!(t instanceof Float32Array) || t.length !== shapes.get(name)?.[0])
      throw new RgError('INTEGRITY', `random painter: ${name} is not F32 [${shapes.get(name)?.[0]}]`);
    const b = uploadBuffer(device, t, name);
    buffers.push(b);
    bytes += t.byteLength;
    return b;
  };
  const matrix = (d: LinearWeightData, label: string): GpuLinear['w'] => {
    const r = uploadWeight(device, d, label, limit, buffers);
    bytes += r.bytes;
    return r.weight;
  };
  const linear = (p: string): GpuLinear => {
    const t = get(`${p}.weight`);
    const [out, inn] = shapes.get(`${p}.weight`) ?? [];
    if (t instanceof Float32Array || t.out !== out || t.in !== inn)
      throw new RgError('INTEGRITY', `random painter: ${p}.weight is not a [${out}, ${inn}] matrix`);
    if (isLayerProjection(`${p}.weight`)) variant = t.format;
    return { w: matrix(t, p), bias: shapes.has(`${p}.bias`) ? vector(`${p}.bias`) : undefined };
  };
  const embedder = (e: string): TimeEmbedder => ({
    l1: linear(`painter.${e}.mlp.0`),
    l2: linear(`painter.${e}.mlp.2`),
  });
  try {
    const D = pc.hidden_size;
    const eye = new Float32Array(D * D);
    for (let i = 0; i < D; i++) eye[i * D + i] = 1;
    const inputProj: GpuLinear = { w: matrix({ format: 'f32', out: D, in: D, weight: eye }, 'connector identity') };
    const layers = Array.from({ length: pc.num_hidden_layers }, (_, l): DecoderLayerWeights => {
      const p = `painter.layers.${l}`;
      return {
        inputNorm: vector(`${p}.input_layernorm.weight`),
        postNorm: vector(`${p}.post_attention_layernorm.weight`),
        qkv: linear(`${p}.self_attn.qkv_proj`),
        o: linear(`${p}.self_attn.o_proj`),
        gateUp: linear(`${p}.mlp.gate_up_proj`),
        down: linear(`${p}.mlp.down_proj`),
      };
    });
    const w: PainterWeights = {
      variant,
      connector: { inputProj, layers: [], norm: null },
      embedTokens: null,
      painter: {
        xEmbedder: linear('painter.x_embedder'),
        timeToken: embedder('time_token'),
        tEmbedder: embedder('t_embedder'),
        layers,
        norm: vector('painter.norm.weight'),
        adaLN: linear('painter.final_layer.adaLN_modulation'),
        finalLinear: linear('painter.final_layer.linear'),
      },
      bytes,
      dispose: () => {
        for (const b of buffers) b.destroy();
        buffers.length = 0;
      },
    };
    return w;
  } catch (e) {
    for (const b of buffers) b.destroy();
    throw e;
  }
}
