/**
 * @file The weights of one pre-norm decoder layer on the GPU, shared by the reasoner (Qwen2) and the painter and
 * connector (Phi-3): both are stored fused, `qkv` as [q | k | v] rows and `gateUp` as [gate | up] rows (the layout
 * the swiglu kernel reads). The painter's files hold them fused already; the reasoner fuses Qwen2's separate
 * projections at upload (docs/formats.md).
 */
import { emptyBuffer, uploadBuffer } from '../../gpu/readback';
import type { AnyWeight, LinearWeight, WeightFormat } from '../../kernels/matmul';
import type { LinearWeightData } from '../../kernels/matmul.ref';
import { rowBytes, shardRows, weightArrays, weightRows } from '../../kernels/weight_data';
import { linearWeights, tensorData, type SafeTensors } from '../../packs/safetensors';

/** A linear layer on the GPU: the weight in its stored form (whole or in row shards) and an optional F32 bias. */
export interface GpuLinear {
  w: AnyWeight;
  bias?: GPUBuffer;
}

/**
 * One decoder layer: `qkv` has (heads + 2 · kv heads) · head_dim outputs (with the fused bias for Qwen2's
 * `attention_bias`), `gateUp` 2 · intermediate outputs.
 */
export interface DecoderLayerWeights {
  inputNorm: GPUBuffer;
  postNorm: GPUBuffer;
  qkv: GpuLinear;
  o: GpuLinear;
  gateUp: GpuLinear;
  down: GpuLinear;
}

/** The config fields a decoder layer reads (Hugging Face names; ReasonerConfig, PainterConfig, ConnectorConfig). */
export interface DecoderLayerConfig {
  hidden_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
  rms_norm_eps: number;
  rope_theta: number;
}

/** Uploads one whole weight; the buffers it makes are pushed to `owned`. */
function uploadWhole(device: GPUDevice, d: LinearWeightData, label: string, owned: GPUBuffer[]): LinearWeight {
  const up = (a: ArrayBufferView, suffix: string) => {
    const b = uploadBuffer(device, a, `${label}${suffix}`);
    owned.push(b);
    return b;
  };
  const shape = { out: d.out, in: d.in };
  switch (d.format) {
    case 'f32':
    case 'f16':
    case 'bf16':
      return { format: d.format, ...shape, weight: up(d.weight, '') };
    case 'int8':
      return { format: d.format, ...shape, weightQ: up(d.weightQ, ' q'), weightScale: up(d.weightScale, ' scale') };
    case 'int4':
      return { format: d.format, ...shape, weightQ4: up(d.weightQ4, ' q4'), weightScale: up(d.weightScale, ' scale') };
  }
}

/**
 * Uploads a weight, in row shards when its elements exceed `maxBindingBytes` (the device's
 * `maxStorageBufferBindingSize`, or a lower figure to force shards in a test); every buffer made is pushed to
 * `owned`, whose owner destroys them. Returns the bytes uploaded with it.
 */
export function uploadWeight(
  device: GPUDevice,
  d: LinearWeightData,
  label: string,
  maxBindingBytes: number,
  owned: GPUBuffer[],
): { weight: AnyWeight; bytes: number } {
  const { words, scale } = weightArrays(d);
  const bytes = words.byteLength + (scale?.byteLength ?? 0);
  const rows = shardRows(d.format, d.out, d.in, maxBindingBytes);
  if (rows.length === 1) return { weight: uploadWhole(device, d, label, owned), bytes };
  let row0 = 0;
  const shards = rows.map((n, i) => {
    const shard = { row0, weight: uploadWhole(device, weightRows(d, row0, row0 + n), `${label} shard ${i}`, owned) };
    row0 += n;
    return shard;
  });
  return { weight: { format: d.format, out: d.out, in: d.in, shards }, bytes };
}

/** A weight's buffers made empty up front, to be filled row block by row block as a streamed file arrives. */
export interface WeightTarget {
  weight: AnyWeight;
  /** Bytes it holds (as uploadWeight counts them). */
  bytes: number;
  /**
   * Writes rows [row0, row0 + n) of the element array (`words`) or the scales of the weight, `data` holding exactly
   * n rows of that array (across shard boundaries as needed).
   */
  write(part: 'words' | 'scale', row0: number, data: Uint8Array): void;
}

/**
 * The empty buffers of an [out, inn] weight in `format`, sharded, labelled and sized as uploadWeight makes them for
 * the same weight; every buffer made is pushed to `owned`.
 */
export function allocateWeight(
  device: GPUDevice,
  format: WeightFormat,
  out: number,
  inn: number,
  label: string,
  maxBindingBytes: number,
  owned: GPUBuffer[],
): WeightTarget {
  const per = rowBytes(format, inn);
  const make = (rows: number, l: string) => {
    const buf = (n: number, suffix: string) => {
      const b = emptyBuffer(device, rows * n, `${l}${suffix}`);
      owned.push(b);
      return b;
    };
    const shape = { out: rows, in: inn };
    let weight: LinearWeight;
    let words: GPUBuffer;
    let scale: GPUBuffer | undefined;
    if (format === 'int8' || format === 'int4') {
      words = buf(per.words, format === 'int8' ? ' q' : ' q4');
      scale = buf(per.scale, ' scale');
      weight =
        format === 'int8'
          ? { format, ...shape, weightQ: words, weightScale: scale }
          : { format, ...shape, weightQ4: words, weightScale: scale };
    } else {
      words = buf(per.words, '');
      weight = { format, ...shape, weight: words };
    }
    return { weight, words, scale };
  };
  const counts = shardRows(format, out, inn, maxBindingBytes);
  let r = 0;
  const parts = counts.map((n, i) => {
    const row0 = r;
    r += n;
    return { row0, rows: n, ...make(n, counts.length === 1 ? label : `${label} shard ${i}`) };
  });
  const weight: AnyWeight =
    parts.length === 1
      ? parts[0]!.weight
      : { format, out, in: inn, shards: parts.map((p) => ({ row0: p.row0, weight: p.weight })) };
  return {
    weight,
    bytes: out * (per.words + per.scale),
    write(part, row0, data) {
      const size = part === 'words' ? per.words : per.scale;
      const n = data.byteLength / size;
      if (!Number.isInteger(n) || row0 < 0 || row0 + n > out)
        throw new RangeError(`${label}: ${data.byteLength} bytes at row ${row0} are not whole ${part} rows of ${out}`);
      for (const p of parts) {
        const a = Math.max(row0, p.row0);
        const b = Math.min(row0 + n, p.row0 + p.rows);
        if (a >= b) continue;
        const dest = part === 'words' ? p.words : p.scale!;
        // Offset and length in bytes: `data` is a view (of a piece, perhaps) over a larger buffer.
        device.queue.writeBuffer(
          dest,
          (a - p.row0) * size,
          data.buffer as ArrayBuffer,
          data.byteOffset + (a - row0) * size,
          (b - a) * size,
        );
      }
    },
  };
}

/** The linear `prefix` of a parsed safetensors file as CPU arrays in its stored format (docs/formats.md names). */
export function linearData(file: Uint8Array, st: SafeTensors, prefix: string): LinearWeightData {
  const lw = linearWeights(st, prefix);
  const shape = { out: lw.out, in: lw.in };
  switch (lw.kind) {
    case 'f32':
      return { format: 'f32', ...shape, weight: tensorData(file, st, lw.weight, 'F32') };
    case 'f16':
      return { format: 'f16', ...shape, weight: tensorData(file, st, lw.weight, 'F16') };
    case 'bf16':
      return { format: 'bf16', ...shape, weight: tensorData(file, st, lw.weight, 'BF16') };
    case 'int8':
      return {
        format: 'int8',
        ...shape,
        weightQ: tensorData(file, st, lw.weight, 'I8'),
        weightScale: tensorData(file, st, lw.scale, 'F32'),
      };
    case 'int4':
      return {
        format: 'int4',
        ...shape,
        weightQ4: tensorData(file, st, lw.weight, 'U8'),
        weightScale: tensorData(file, st, lw.scale, 'F32'),
      };
  }
}
