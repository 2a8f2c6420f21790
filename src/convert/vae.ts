/**
 * @file MindOmni's `vae/` (a diffusers AutoencoderKL, SDXL-type; docs/formats.md "Converting the VAE") to the two
 * ONNX files the app's VAE runs (src/models/painter/vae.ts): `vae_decoder.onnx` (`latent_sample` → `sample`, with
 * post_quant_conv) and `vae_encoder.onnx` (`sample` → `latent_sample`, the mean, with quant_conv), built in code with
 * standard ONNX ops, plus `vae_config.json`. Every check runs before the first byte is written; then each graph is
 * written as its nodes followed by one weight at a time, read by byte range (the file's size plus nothing but the
 * tensor in hand is ever needed).
 *
 * dtype rule: the 4-D conv weights and the attention's projections are initializers in the chosen precision (f32, or
 * f16 for every other weight format), each followed by a Cast to f32; biases and norm scales stay f32; all activations
 * are f32.
 */
import { RgError } from '../errors';
import type { WeightFormat } from '../kernels/matmul';
import type { LinearWeightData } from '../kernels/matmul.ref';
import { convertWeight, weightArrays } from '../kernels/weight_data';
import { VaeConfigFileSchema, type FileEntry, type VaeConfig } from '../packs/manifest';
import type { SafeTensorInfo } from '../packs/safetensors';
import { StagingMeter } from '../packs/safetensors_stream';
import { GraphBuilder, streamedModel, type GraphSpec, type StreamedInit } from '../runtime/onnx_graph';
import {
  HashingWriter,
  readHeaders,
  readJson,
  refuser,
  type CheckpointReader,
  type ConvertSink,
  type FoundTensors,
  type Refuse,
} from './checkpoint';

export const VAE_CONFIG = 'vae/config.json';
export const VAE_WEIGHTS = 'vae/diffusion_pytorch_model.safetensors';
export const VAE_FILES = { decoder: 'vae_decoder.onnx', encoder: 'vae_encoder.onnx', config: 'vae_config.json' };

const bad: Refuse = refuser(
  "Convert MindOmni's vae/ as diffusers saves an AutoencoderKL: config.json and diffusion_pytorch_model.safetensors.",
);
const unsupported = (field: string, message: string): never => {
  throw new RgError('UNSUPPORTED_PACK', `${VAE_CONFIG}: ${message}`, {
    field,
    hint: 'Only the SDXL-type AutoencoderKL (DownEncoderBlock2D / UpDecoderBlock2D, SiLU, group norms) is converted.',
  });
};

/** The fields of vae/config.json the network is built from. */
export interface VaeDims {
  in_channels: number;
  out_channels: number;
  latent_channels: number;
  block_out_channels: number[];
  layers_per_block: number;
  norm_num_groups: number;
  scaling_factor: number;
  shift_factor: number;
  mid_block_add_attention: boolean;
  use_quant_conv: boolean;
  use_post_quant_conv: boolean;
}

/** AutoencoderKL's config, checked: anything we do not build is refused naming the field. */
export function vaeDims(config: unknown): VaeDims {
  const c = (config ?? {}) as Record<string, unknown>;
  if (c._class_name !== 'AutoencoderKL')
    unsupported('_class_name', `_class_name ${JSON.stringify(c._class_name)} is not "AutoencoderKL"`);
  const int = (k: string, dflt?: number): number => {
    const v = c[k] ?? dflt;
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 65536))
      bad(`${VAE_CONFIG}: ${k} must be a positive integer, got ${JSON.stringify(v)}`, k);
    return v;
  };
  const flag = (k: string): boolean => {
    const v = c[k] ?? true;
    if (typeof v !== 'boolean') bad(`${VAE_CONFIG}: ${k} must be true or false, got ${JSON.stringify(v)}`, k);
    return v;
  };
  const blocks = c.block_out_channels;
  if (!Array.isArray(blocks) || blocks.length < 1 || blocks.length > 8)
    bad(`${VAE_CONFIG}: block_out_channels must list 1 to 8 channel counts`, 'block_out_channels');
  const ch = blocks.map((v) => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 16384))
      bad(`${VAE_CONFIG}: block_out_channels holds ${JSON.stringify(v)}`, 'block_out_channels');
    return v;
  });
  for (const [k, want] of [
    ['down_block_types', 'DownEncoderBlock2D'],
    ['up_block_types', 'UpDecoderBlock2D'],
  ] as const) {
    const v = c[k];
    if (!Array.isArray(v) || v.length !== ch.length)
      bad(`${VAE_CONFIG}: ${k} must name one block per block_out_channels entry (${ch.length})`, k);
    const other = v.find((t) => t !== want);
    if (other !== undefined) unsupported(k, `${k} holds ${JSON.stringify(other)}; only ${want} is built`);
  }
  if ((c.act_fn ?? 'silu') !== 'silu') unsupported('act_fn', `act_fn ${JSON.stringify(c.act_fn)} is not "silu"`);
  for (const k of ['latents_mean', 'latents_std'])
    if (c[k] !== undefined && c[k] !== null)
      unsupported(k, `${k} is set; our manifest has one scaling_factor and shift_factor for every channel`);
  const groups = int('norm_num_groups', 32);
  for (const v of ch)
    if (v % groups !== 0)
      bad(`${VAE_CONFIG}: norm_num_groups ${groups} does not divide block_out_channels' ${v}`, 'norm_num_groups');
  const inC = int('in_channels', 3);
  const outC = int('out_channels', 3);
  if (inC !== 3) bad(`${VAE_CONFIG}: in_channels ${inC}; the app encodes RGB images (3)`, 'in_channels');
  if (outC !== 3) bad(`${VAE_CONFIG}: out_channels ${outC}; the app decodes to RGB (3)`, 'out_channels');
  const scale = c.scaling_factor;
  if (!(typeof scale === 'number' && Number.isFinite(scale) && scale > 0))
    bad(`${VAE_CONFIG}: scaling_factor must be a positive number, got ${JSON.stringify(scale)}`, 'scaling_factor');
  const shift = c.shift_factor ?? 0; // MindOmni adds it only when it is not None
  if (!(typeof shift === 'number' && Number.isFinite(shift)))
    bad(`${VAE_CONFIG}: shift_factor must be a number or null, got ${JSON.stringify(shift)}`, 'shift_factor');
  return {
    in_channels: inC,
    out_channels: outC,
    latent_channels: int('latent_channels', 4),
    block_out_channels: ch,
    layers_per_block: int('layers_per_block', 1),
    norm_num_groups: groups,
    scaling_factor: scale,
    shift_factor: shift,
    mid_block_add_attention: flag('mid_block_add_attention'),
    use_quant_conv: flag('use_quant_conv'),
    use_post_quant_conv: flag('use_post_quant_conv'),
  };
}

/** The manifest's `vae` (and vae_config.json without `_class_name`). */
export function vaeConfigOf(d: VaeDims): VaeConfig {
  const r = VaeConfigFileSchema.safeParse({
    _class_name: 'AutoencoderKL',
    in_channels: d.in_channels,
    latent_channels: d.latent_channels,
    downscale: 2 ** (d.block_out_channels.length - 1),
    block_channels: d.block_out_channels,
    scaling_factor: d.scaling_factor,
    shift_factor: d.shift_factor,
  });
  if (!r.success) bad(`${VAE_CONFIG} is outside what our VAE config holds: ${r.error.message}`, VAE_CONFIG);
  const { _class_name: _, ...vae } = r.data;
  return vae;
}

/** One weight a graph reads: the initializer `name` (diffusers' current name) and where it comes from. */
export interface VaeWeight {
  name: string;
  dims: number[];
  /** Source shapes with the initializer's bytes ([C] for a norm's [C, 1, 1]; [C, C] or [C, C, 1, 1] projections). */
  accept: number[][];
  /** The old diffusers name (attention's query / key / value / proj_attn), read when the current one is absent. */
  alt?: string;
  /** Stored in the chosen precision (f16 or f32) rather than always f32. */
  matrix: boolean;
}

/** A graph and the weights it reads, in the order the file holds them. */
export interface VaeGraph {
  path: string;
  spec: GraphSpec;
  weights: VaeWeight[];
}

const OLD_ATTENTION: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };

/** Builds one graph's nodes; `param` records each weight it reads. */
class Net {
  readonly g = new GraphBuilder();
  readonly weights: VaeWeight[] = [];
  private consts = new Map<string, string>();

  constructor(
    readonly d: VaeDims,
    readonly half: boolean,
  ) {}

  private param(name: string, dims: number[], accept: number[][] = [dims], alt?: string): string {
    const matrix = accept.every((s) => s.length > 1);
    this.weights.push({ name, dims, accept, alt, matrix });
    return matrix && this.half ? this.g.op('Cast', [name], { to: 1 /* FLOAT */ }) : name;
  }

  private once(name: string, make: () => string): string {
    let v = this.consts.get(name);
    if (!v) this.consts.set(name, (v = make()));
    return v;
  }

  conv(x: string, p: string, cin: number, cout: number, k: number, o: { stride?: number; pads?: number[] } = {}) {
    const w = this.param(`${p}.weight`, [cout, cin, k, k]);
    const b = this.param(`${p}.bias`, [cout]);
    const s = o.stride ?? 1;
    const pad = (k - 1) / 2;
    return this.g.op('Conv', [x, w, b], {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: o.pads ?? [pad, pad, pad, pad],
    });
  }

  /** GroupNorm as InstanceNormalization over [N, groups, C/groups·H·W], then the per-channel scale and shift. */
  norm(x: string, p: string, c: number): string {
    const { g } = this;
    const G = this.d.norm_num_groups;
    const ones = this.once('ones', () => g.init('const.groups_one', { dims: [G], data: new Float32Array(G).fill(1) }));
    const zeros = this.once('zeros', () => g.init('const.groups_zero', { dims: [G], data: new Float32Array(G) }));
    const shape = this.once('gshape', () => g.i64('const.groups_shape', [0, G, -1]));
    const n = g.op('InstanceNormalization', [g.op('Reshape', [x, shape]), ones, zeros], { epsilon: 1e-6 });
    const back = g.op('Reshape', [n, g.op('Shape', [x])]);
    const w = this.param(`${p}.weight`, [c, 1, 1], [[c]]);
    const b = this.param(`${p}.bias`, [c, 1, 1], [[c]]);
    return g.op('Add', [g.op('Mul', [back, w]), b]);
  }

  silu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }

  resnet(x: string, p: string, cin: number, cout: number): string {
    let h = this.conv(this.silu(this.norm(x, `${p}.norm1`, cin)), `${p}.conv1`, cin, cout, 3);
    h = this.conv(this.silu(this.norm(h, `${p}.norm2`, cout)), `${p}.conv2`, cout, cout, 3);
    const s = cin === cout ? x : this.conv(x, `${p}.conv_shortcut`, cin, cout, 1);
    return this.g.op('Add', [s, h]);
  }

  /** One head of size C over the H·W positions, with the residual; the projections run as 1×1 convs. */
  attention(x: string, p: string, c: number): string {
    const { g } = this;
    const proj = (y: string, n: string) => {
      const alt = `${p}.${OLD_ATTENTION[n]}`;
      const w = this.param(
        `${p}.${n}.weight`,
        [c, c, 1, 1],
        [
          [c, c],
          [c, c, 1, 1],
        ],
        `${alt}.weight`,
      );
      const b = this.param(`${p}.${n}.bias`, [c], [[c]], `${alt}.bias`);
      return g.op('Conv', [y, w, b], { kernel_shape: [1, 1] });
    };
    const flat = this.once('flat', () => g.i64('const.flat_shape', [0, 0, -1]));
    const h = this.norm(x, `${p}.group_norm`, c);
    const [q, k, v] = ['to_q', 'to_k', 'to_v'].map((n) => g.op('Reshape', [proj(h, n), flat])); // [N, C, HW]
    const scale = this.once(`scale${c}`, () => g.scalar(`const.attention_scale_${c}`, 1 / Math.sqrt(c)));
    const s = g.op('Mul', [g.op('MatMul', [g.op('Transpose', [q!], { perm: [0, 2, 1] }), k!]), scale]);
    const a = g.op('Softmax', [s], { axis: -1 }); // [N, HW query, HW key]
    const o = g.op('MatMul', [v!, g.op('Transpose', [a], { perm: [0, 2, 1] })]); // [N, C, HW query]
    return g.op('Add', [x, proj(g.op('Reshape', [o, g.op('Shape', [x])]), 'to_out.0')]);
  }

  mid(x: string, p: string, c: number): string {
    x = this.resnet(x, `${p}.resnets.0`, c, c);
    if (this.d.mid_block_add_attention) x = this.attention(x, `${p}.attentions.0`, c);
    return this.resnet(x, `${p}.resnets.1`, c, c);
  }

  encoder(): string {
    const d = this.d;
    const B = d.block_out_channels;
    const L = d.latent_channels;
    let x = this.conv('sample', 'encoder.conv_in', d.in_channels, B[0]!, 3);
    B.forEach((c, i) => {
      for (let j = 0; j < d.layers_per_block; j++)
        x = this.resnet(x, `encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? B[Math.max(i - 1, 0)]! : c, c);
      // diffusers pads right and bottom by one, then a stride-2 conv without padding
      if (i < B.length - 1)
        x = this.conv(x, `encoder.down_blocks.${i}.downsamplers.0.conv`, c, c, 3, { stride: 2, pads: [0, 0, 1, 1] });
    });
    const top = B[B.length - 1]!;
    x = this.mid(x, 'encoder.mid_block', top);
    x = this.conv(this.silu(this.norm(x, 'encoder.conv_norm_out', top)), 'encoder.conv_out', top, 2 * L, 3);
    if (d.use_quant_conv) x = this.conv(x, 'quant_conv', 2 * L, 2 * L, 1);
    const { g } = this;
    return g.op('Slice', [x, g.i64('const.mean_start', [0]), g.i64('const.mean_end', [L]), g.i64('const.axis', [1])]);
  }

  decoder(): string {
    const d = this.d;
    const R = [...d.block_out_channels].reverse();
    const L = d.latent_channels;
    let x = 'latent_sample';
    if (d.use_post_quant_conv) x = this.conv(x, 'post_quant_conv', L, L, 1);
    x = this.mid(this.conv(x, 'decoder.conv_in', L, R[0]!, 3), 'decoder.mid_block', R[0]!);
    const up = this.g.init('const.up_scales', { dims: [4], data: [1, 1, 2, 2] });
    R.forEach((c, i) => {
      for (let j = 0; j <= d.layers_per_block; j++)
        x = this.resnet(x, `decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? R[Math.max(i - 1, 0)]! : c, c);
      if (i < R.length - 1) {
        // nearest ×2 as PyTorch's interpolate: source index floor(i / 2)
        x = this.g.op('Resize', [x, '', up], {
          mode: 'nearest',
          coordinate_transformation_mode: 'asymmetric',
          nearest_mode: 'floor',
        });
        x = this.conv(x, `decoder.up_blocks.${i}.upsamplers.0.conv`, c, c, 3);
      }
    });
    const last = R[R.length - 1]!;
    return this.conv(
      this.silu(this.norm(x, 'decoder.conv_norm_out', last)),
      'decoder.conv_out',
      last,
      d.out_channels,
      3,
    );
  }
}

/** The decoder or encoder graph of `d` and the weights it reads; `half`: f16 matrices (the dtype rule above). */
export function vaeGraph(d: VaeDims, part: 'decoder' | 'encoder', half: boolean): VaeGraph {
  const net = new Net(d, half);
  const last = part === 'decoder' ? net.decoder() : net.encoder();
  const out = part === 'decoder' ? 'sample' : 'latent_sample';
  const L = d.latent_channels;
  const latent = { name: 'latent_sample', type: 'float32' as const, dims: ['batch', L, 'h', 'w'] };
  const image = { name: 'sample', type: 'float32' as const, dims: ['batch', d.in_channels, 'height', 'width'] };
  net.g.nodes.push({ op: 'Identity', inputs: [last], outputs: [out] });
  const spec: GraphSpec = {
    name: `vae_${part}`,
    inputs: [part === 'decoder' ? latent : image],
    outputs: [part === 'decoder' ? { ...image, dims: ['batch', d.out_channels, 'height', 'width'] } : latent],
    nodes: net.g.nodes,
    initializers: net.g.inits,
    opset: 17,
  };
  return { path: part === 'decoder' ? VAE_FILES.decoder : VAE_FILES.encoder, spec, weights: net.weights };
}

/** A checked VAE conversion, ready to write. */
export interface VaePlan {
  dims: VaeDims;
  config: VaeConfig;
  half: boolean;
  graphs: VaeGraph[];
  /** The source tensor of each weight name. */
  sources: Map<string, { info: SafeTensorInfo; file: string }>;
}

/**
 * Every check of `vae/` (config, tensor names, dtypes and shapes, nothing extra) before anything is written;
 * `latents`: the painter's latent channels, when the VAE must match them.
 */
export async function planVae(
  src: CheckpointReader,
  half: boolean,
  meter = new StagingMeter(),
  latents?: number,
): Promise<VaePlan> {
  const dims = vaeDims(await readJson(src, VAE_CONFIG, bad));
  if (latents !== undefined && dims.latent_channels !== latents)
    bad(`${VAE_CONFIG}: latent_channels ${dims.latent_channels} ≠ the image decoder's ${latents}`, 'latent_channels');
  const config = vaeConfigOf(dims);
  if ((await src.size(VAE_WEIGHTS)) === null && (await src.size('vae/diffusion_pytorch_model.bin')) !== null)
    bad(
      'vae/ has only diffusion_pytorch_model.bin (a pickle, which is never read); the .safetensors is needed',
      VAE_WEIGHTS,
    );
  // The safetensors library does not align tensors: an F16 3-element bias is 6 bytes.
  const found = await readHeaders(src, [VAE_WEIGHTS], meter, bad, () => 'the VAE weights', 1);
  const graphs = [vaeGraph(dims, 'decoder', half), vaeGraph(dims, 'encoder', half)];
  const sources = checkVaeTensors(graphs, found);
  return { dims, config, half, graphs, sources };
}

const FLOATS = new Set(['F32', 'F16', 'BF16']);

/** Each weight's source tensor (its current or old name), dtype and shape; a tensor no graph reads is refused. */
export function checkVaeTensors(graphs: VaeGraph[], found: FoundTensors): VaePlan['sources'] {
  const sources: VaePlan['sources'] = new Map();
  for (const w of graphs.flatMap((g) => g.weights)) {
    const name = found.has(w.name) || !w.alt || !found.has(w.alt) ? w.name : w.alt;
    const t = found.get(name);
    if (!t) bad(`${VAE_WEIGHTS} has no tensor ${w.name}`, w.name);
    if (!FLOATS.has(t.info.dtype)) bad(`${name} is ${t.info.dtype}; only BF16, F16 and F32 convert`, name);
    const shape = JSON.stringify(t.info.shape);
    if (!w.accept.some((s) => JSON.stringify(s) === shape))
      bad(
        `${name} has shape [${t.info.shape.join(', ')}]; ${VAE_CONFIG} means ` +
          w.accept.map((s) => `[${s.join(', ')}]`).join(' or '),
        name,
      );
    sources.set(w.name, { ...t, info: { ...t.info, name } });
  }
  const used = new Set([...sources.values()].map((s) => s.info.name));
  for (const name of found.keys())
    if (!used.has(name)) bad(`${VAE_WEIGHTS}: ${name} is not part of the AutoencoderKL ${VAE_CONFIG} describes`, name);
  return sources;
}

/** One weight as initializer bytes: f32, or f16 for a matrix when `half`. */
async function weightBytes(
  src: CheckpointReader,
  w: VaeWeight,
  s: { info: SafeTensorInfo; file: string },
  half: boolean,
  meter: StagingMeter,
): Promise<Uint8Array> {
  const { info, file } = s;
  const raw = await src.read(file, info.begin, info.end);
  if (raw.byteLength !== info.end - info.begin) bad(`${file}: ${info.name} is cut short`, info.name);
  meter.hold(raw.byteLength);
  try {
    const n = w.dims.reduce((a, x) => a * x, 1);
    const b = raw.byteOffset % (info.dtype === 'F32' ? 4 : 2) === 0 ? raw : raw.slice(); // unaligned: copy
    const input: LinearWeightData =
      info.dtype === 'F32'
        ? { format: 'f32', out: 1, in: n, weight: new Float32Array(b.buffer, b.byteOffset, n) }
        : {
            format: info.dtype === 'F16' ? 'f16' : 'bf16',
            out: 1,
            in: n,
            weight: new Uint16Array(b.buffer, b.byteOffset, n),
          };
    const target = half && w.matrix ? 'f16' : 'f32';
    const conv = convertWeight(input, target);
    const words = weightArrays(conv).words;
    if (target === 'f16')
      for (const h of words as Uint16Array)
        if ((h & 0x7c00) === 0x7c00)
          bad(`${info.name} has a value beyond f16's range; convert with f32 weights`, info.name);
    // convertWeight hands back its input when the dtype already matches: then nothing more is held
    meter.during(conv === input ? 0 : words.byteLength, () => undefined);
    return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  } finally {
    meter.release(raw.byteLength);
  }
}

/** Writes vae_decoder.onnx, vae_encoder.onnx (weights one at a time from `src`) and vae_config.json. */
export async function writeVae(src: CheckpointReader, p: VaePlan, out: HashingWriter, meter: StagingMeter) {
  for (const g of p.graphs) {
    const inits: StreamedInit[] = g.weights.map((w) => ({
      name: w.name,
      dims: w.dims,
      type: p.half && w.matrix ? 'float16' : 'float32',
    }));
    const m = streamedModel(g.spec, inits);
    await out.write(g.path, m.bytes, async (put) => {
      await put(m.prefix);
      for (let i = 0; i < g.weights.length; i++) {
        await put(m.heads[i]!);
        await put(await weightBytes(src, g.weights[i]!, p.sources.get(g.weights[i]!.name)!, p.half, meter));
      }
    });
  }
  const file = { _class_name: 'AutoencoderKL', ...p.config };
  await out.whole(VAE_FILES.config, new TextEncoder().encode(JSON.stringify(file, null, 2) + '\n'));
}

/** The VAE alone (`vae/` of `src`) into `sink`: vae_decoder.onnx, vae_encoder.onnx, vae_config.json. */
export async function convertVae(
  src: CheckpointReader,
  sink: ConvertSink,
  o: { weights: WeightFormat; meter?: StagingMeter },
): Promise<{ config: VaeConfig; files: FileEntry[]; meter: StagingMeter }> {
  const meter = o.meter ?? new StagingMeter();
  const p = await planVae(src, o.weights !== 'f32', meter);
  const out = new HashingWriter(sink);
  await writeVae(src, p, out, meter);
  return { config: p.config, files: out.files, meter };
}
