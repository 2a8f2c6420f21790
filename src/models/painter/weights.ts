/**
 * @file Painter + connector weights: one safetensors file (f32, int8 or int4 variant of the pack) parsed with
 * src/packs/safetensors.ts and uploaded tensor by tensor straight into GPU buffers, quantised projections kept
 * quantised (the matmul kernel dequantises in its inner loop). The loader streams the file (each tensor's buffer made
 * from the header, filled as its bytes arrive); uploadPainterWeights takes a whole file. Names and layouts:
 * docs/formats.md.
 */
import { RgError } from '../../errors';
import type { AnyWeight, LinearWeight } from '../../kernels/matmul';
import type { ConnectorConfig, PainterConfig, WeightVariant } from '../../packs/manifest';
import { linearWeights, parseSafetensors, type SafeTensorInfo, type SafeTensors } from '../../packs/safetensors';
import {
  readSafetensors,
  SafetensorsStream,
  StagingMeter,
  type LoadStats,
  type SinkFor,
  type TensorSink,
} from '../../packs/safetensors_stream';
import { readPieces, type PackSource } from '../../packs/source';
import { emptyBuffer, uploadBuffer } from '../../gpu/readback';
import type { DecoderLayerConfig, DecoderLayerWeights, GpuLinear } from '../layers/weights';

/** A timestep embedder: linear 2 (silu (linear 1 (sinusoidal features of t · timestep_scale))). */
export interface TimeEmbedder {
  l1: GpuLinear;
  l2: GpuLinear;
}

export interface PainterWeights {
  variant: WeightVariant;
  /**
   * `norm` is null without `connector.final_norm` (MindOmni's connector: Linear + Phi-3 layers, no norm). The whole
   * connector is null in a `cascade` pack: its condition is the painter's own text embeddings.
   */
  connector: { inputProj: GpuLinear; layers: DecoderLayerWeights[]; norm: GPUBuffer | null } | null;
  /** The painter's token embeddings `painter.embed_tokens` [vocab, hidden] (cascade packs only; else null). */
  embedTokens: AnyWeight | null;
  painter: {
    xEmbedder: GpuLinear;
    /** The sequence's time token (OmniGen `time_token`); the same object as `tEmbedder` when shared. */
    timeToken: TimeEmbedder;
    /** The final layer's adaLN input (OmniGen `t_embedder`). */
    tEmbedder: TimeEmbedder;
    layers: DecoderLayerWeights[];
    norm: GPUBuffer;
    adaLN: GpuLinear;
    finalLinear: GpuLinear;
  };
  /** Bytes uploaded. */
  bytes: number;
  dispose(): void;
}

/**
 * Makes the buffers of the named tensors of a parsed file (`make`: uploaded from the whole file, or made empty and
 * filled as a stream arrives); every buffer it makes is listed for dispose().
 */
class Uploader {
  readonly buffers: GPUBuffer[] = [];
  bytes = 0;
  constructor(
    private readonly st: SafeTensors,
    private readonly make: (t: SafeTensorInfo) => GPUBuffer,
    /** The most bytes one tensor may hold: the device's binding limit (the painter does not shard its tensors). */
    private readonly limit = Infinity,
  ) {}

  /** Whether the file holds the linear-style tensor `prefix` (in any stored format). */
  has(prefix: string): boolean {
    return ['weight', 'weight_q', 'weight_q4'].some((k) => this.st.tensors.has(`${prefix}.${k}`));
  }

  /** The [out, in] of the linear-style tensor `prefix` (any stored format). */
  shapeOf(prefix: string): { out: number; in: number } {
    const lw = linearWeights(this.st, prefix);
    return { out: lw.out, in: lw.in };
  }

  tensor(name: string, expectShape?: number[]): GPUBuffer {
    const info = this.st.tensors.get(name);
    if (!info) throw new RgError('INTEGRITY', `painter weights: missing tensor ${name}`);
    if (expectShape && (info.shape.length !== expectShape.length || info.shape.some((d, i) => d !== expectShape[i]))) {
      throw new RgError(
        'INTEGRITY',
        `painter weights: ${name} is [${info.shape.join(', ')}], expected [${expectShape.join(', ')}]`,
      );
    }
    const size = info.end - info.begin;
    if (size > this.limit)
      throw new RgError(
        'UNSUPPORTED_PACK',
        `painter weights: ${name} holds ${size.toLocaleString('en-US')} bytes, more than this GPU binds at once ` +
          `(${this.limit.toLocaleString('en-US')} bytes)`,
        {
          field: 'weights',
          hint:
            'Choose a smaller painter precision (int8 or int4) for this pack, or use a GPU whose ' +
            'maxStorageBufferBindingSize is larger.',
        },
      );
    const buf = this.make(info);
    this.buffers.push(buf);
    this.bytes += info.end - info.begin;
    return buf;
  }

  linear(prefix: string, out: number, inn: number, withBias: boolean): GpuLinear {
    const lw = linearWeights(this.st, prefix);
    if (lw.out !== out || lw.in !== inn)
      throw new RgError('INTEGRITY', `painter weights: ${prefix} is [${lw.out}, ${lw.in}], expected [${out}, ${inn}]`);
    if (withBias !== !!lw.bias)
      throw new RgError('INTEGRITY', `painter weights: ${prefix} ${withBias ? 'lacks' : 'has'} a bias`);
    const bias = lw.bias ? this.tensor(lw.bias, [out]) : undefined;
    let w: LinearWeight;
    switch (lw.kind) {
      case 'f32':
        w = { format: 'f32', out, in: inn, weight: this.tensor(lw.weight) };
        break;
      case 'f16':
        w = { format: 'f16', out, in: inn, weight: this.tensor(lw.weight) };
        break;
      case 'bf16':
        w = { format: 'bf16', out, in: inn, weight: this.tensor(lw.weight) };
        break;
      case 'int8':
        w = { format: 'int8', out, in: inn, weightQ: this.tensor(lw.weight), weightScale: this.tensor(lw.scale) };
        break;
      case 'int4':
        w = { format: 'int4', out, in: inn, weightQ4: this.tensor(lw.weight), weightScale: this.tensor(lw.scale) };
        break;
    }
    return { w, bias };
  }

  phi3(prefix: string, c: DecoderLayerConfig): DecoderLayerWeights {
    const H = c.hidden_size;
    const qkvOut = (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim;
    return {
      inputNorm: this.tensor(`${prefix}.input_layernorm.weight`, [H]),
      postNorm: this.tensor(`${prefix}.post_attention_layernorm.weight`, [H]),
      qkv: this.linear(`${prefix}.self_attn.qkv_proj`, qkvOut, H, false),
      o: this.linear(`${prefix}.self_attn.o_proj`, H, c.num_attention_heads * c.head_dim, false),
      gateUp: this.linear(`${prefix}.mlp.gate_up_proj`, 2 * c.intermediate_size, H, false),
      down: this.linear(`${prefix}.mlp.down_proj`, H, c.intermediate_size, false),
    };
  }
}

/** The most bytes one buffer may bind on `device`. */
function bindingLimit(device: GPUDevice): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
}

/** The painter's weights from a parsed header, each tensor's buffer made by `up`. */
function buildPainter(
  up: Uploader,
  cc: ConnectorConfig | null,
  pc: PainterConfig,
  variant: WeightVariant,
): PainterWeights {
  const P = pc.hidden_size;
  // A cascade pack's embedding table: [vocab, hidden] rows in the file's format, read by the embed kernel.
  const embedInfo = cc ? undefined : up.has('painter.embed_tokens') ? up.shapeOf('painter.embed_tokens') : null;
  if (embedInfo === null)
    throw new RgError('INTEGRITY', 'painter weights: a pack without a connector needs painter.embed_tokens');
  const patchFeatures = pc.latent_channels * pc.patch_size * pc.patch_size;
  // OmniGen's embedders are `mlp` = Sequential(Linear, SiLU, Linear); the shared one names them linear_1 / _2.
  const embedder = (name: string, l1: string, l2: string): TimeEmbedder => ({
    l1: up.linear(`painter.${name}.${l1}`, P, pc.timestep_freq_dim, true),
    l2: up.linear(`painter.${name}.${l2}`, P, P, true),
  });
  const separate = pc.time_embedders === 'separate';
  const tEmbedder = separate
    ? embedder('t_embedder', 'mlp.0', 'mlp.2')
    : embedder('t_embedder', 'linear_1', 'linear_2');
  const timeToken = separate ? embedder('time_token', 'mlp.0', 'mlp.2') : tEmbedder;
  const w: PainterWeights = {
    variant,
    connector: cc
      ? {
          inputProj: up.linear('connector.input_proj', cc.hidden_size, cc.input_size, true),
          layers: Array.from({ length: cc.num_hidden_layers }, (_, l) => up.phi3(`connector.layers.${l}`, cc)),
          norm: cc.final_norm ? up.tensor('connector.norm.weight', [cc.hidden_size]) : null,
        }
      : null,
    embedTokens: embedInfo ? up.linear('painter.embed_tokens', embedInfo.out, P, false).w : null,
    painter: {
      xEmbedder: up.linear('painter.x_embedder', P, patchFeatures, true),
      timeToken,
      tEmbedder,
      layers: Array.from({ length: pc.num_hidden_layers }, (_, l) => up.phi3(`painter.layers.${l}`, pc)),
      norm: up.tensor('painter.norm.weight', [P]),
      adaLN: up.linear('painter.final_layer.adaLN_modulation', 2 * P, P, true),
      finalLinear: up.linear('painter.final_layer.linear', patchFeatures, P, true),
    },
    bytes: up.bytes,
    dispose: () => {
      for (const b of up.buffers) b.destroy();
      up.buffers.length = 0;
    },
  };
  if (cc && cc.hidden_size !== P)
    throw new RgError('INTEGRITY', `connector hidden ${cc.hidden_size} ≠ painter hidden ${P}`);
  return w;
}

/** Uploads a painter safetensors file (already read) to `device`. Throws RgError('INTEGRITY') on a bad file. */
export function uploadPainterWeights(
  device: GPUDevice,
  bytes: Uint8Array,
  cc: ConnectorConfig | null,
  pc: PainterConfig,
  variant: WeightVariant,
  /** Tests: a binding limit below the device's. */
  maxBindingBytes = bindingLimit(device),
): PainterWeights {
  const st = parseSafetensors(bytes, `painter.${variant}.safetensors`);
  const up = new Uploader(st, (t) => uploadBuffer(device, bytes.subarray(t.begin, t.end), t.name), maxBindingBytes);
  try {
    return buildPainter(up, cc, pc, variant);
  } catch (e) {
    for (const b of up.buffers) b.destroy();
    throw e;
  }
}

/**
 * Streams a painter safetensors file into `device`: every tensor's buffer made from the header (as
 * uploadPainterWeights makes it), then filled as its bytes arrive; the same buffers, byte for byte, with `stats` of
 * what was held at once. Leaves no buffer behind when it throws (an INTEGRITY error after the last piece too).
 */
export async function streamPainterWeights(
  device: GPUDevice,
  pieces: AsyncIterable<Uint8Array>,
  cc: ConnectorConfig | null,
  pc: PainterConfig,
  variant: WeightVariant,
  what = `painter.${variant}.safetensors`,
): Promise<PainterWeights & { stats: LoadStats }> {
  const meter = new StagingMeter();
  const sinks = new Map<string, TensorSink>();
  let up: Uploader | null = null;
  let made: PainterWeights | null = null;
  const onHeader = (st: SafeTensors): SinkFor => {
    up = new Uploader(
      st,
      (t) => {
        const size = t.end - t.begin;
        const buf = emptyBuffer(device, size, t.name);
        // writeBuffer takes whole 4-byte words: a tensor of another size (only a file's last can be) comes whole,
        // padded.
        const unit = size % 4 === 0 ? 4 : size;
        sinks.set(t.name, {
          unit,
          write: (b, off) => {
            if (b.byteLength % 4 === 0)
              return device.queue.writeBuffer(buf, off, b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);
            const padded = new Uint8Array(Math.ceil(b.byteLength / 4) * 4);
            padded.set(b);
            meter.during(padded.byteLength, () => device.queue.writeBuffer(buf, off, padded));
          },
        });
        return buf;
      },
      bindingLimit(device),
    );
    made = buildPainter(up, cc, pc, variant);
    return (t) => sinks.get(t.name) ?? null;
  };
  try {
    await readSafetensors(pieces, new SafetensorsStream(what, onHeader, meter), meter);
    if (!made) throw new RgError('INTERNAL', `${what}: the stream ended without a header`);
  } catch (e) {
    for (const b of (up as Uploader | null)?.buffers ?? []) b.destroy();
    throw e;
  }
  const w: PainterWeights = made;
  return { ...w, stats: { peakStagingBytes: meter.peak, pieces: meter.pieces } };
}

/** Streams the pack's painter weights of `variant` through `source` into the GPU. */
export async function loadPainterWeights(
  device: GPUDevice,
  source: PackSource,
  variant: WeightVariant = 'f32',
): Promise<PainterWeights & { stats: LoadStats }> {
  const m = await source.manifest();
  const path = m.paths.painter_weights[variant];
  if (!path) {
    throw new RgError(
      'BAD_INPUT',
      `pack ${m.id} has no ${variant} painter weights (it has: ${Object.keys(m.paths.painter_weights).join(', ')})`,
      {
        field: 'weights',
      },
    );
  }
  return readPieces(source, path, (pieces) =>
    streamPainterWeights(device, pieces, m.connector, m.painter, variant, `${m.id}/${path}`),
  );
}
