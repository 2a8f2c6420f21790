/**
 * @file Weights as typed arrays on the CPU (LinearWeightData, the matmul twin's form): made from f32 values in any
 * storage format, cut into row ranges, and the row shards a weight needs so that no buffer exceeds a binding limit.
 * Plain TypeScript, no GPU: the loaders upload what these return.
 */
import { BYTES_PER_ELEMENT, K_MULTIPLE, type WeightFormat } from './matmul';
import { dequantizeWeight, type LinearWeightData } from './matmul.ref';
import { quantizeInt4, quantizeInt8, toBf16, toF16 } from './quantize';

/** `w` [out, in] (f32) stored as `format` (quantised as docs/formats.md says; f16 / bf16 rounded to nearest even). */
export function toWeightData(w: Float32Array, out: number, inn: number, format: WeightFormat): LinearWeightData {
  if (w.length !== out * inn) throw new RangeError(`toWeightData: ${w.length} elements is not ${out} × ${inn}`);
  switch (format) {
    case 'f32':
      return { format, out, in: inn, weight: w };
    case 'f16':
      return { format, out, in: inn, weight: toF16(w) };
    case 'bf16':
      return { format, out, in: inn, weight: toBf16(w) };
    case 'int8': {
      const { q, scale } = quantizeInt8(w, out, inn);
      return { format, out, in: inn, weightQ: q, weightScale: scale };
    }
    case 'int4': {
      const { q, scale } = quantizeInt4(w, out, inn);
      return { format, out, in: inn, weightQ4: q, weightScale: scale };
    }
  }
}

/**
 * `w` in `format` (itself when it already is): the one conversion the loaders make, whole matrices or row blocks
 * alike. Row-local in every format (int8 scales per row, int4 per 32 elements of a row), so converting rows
 * [r0, r1) gives exactly rows [r0, r1) of converting the whole.
 */
export function convertWeight(w: LinearWeightData, format: WeightFormat): LinearWeightData {
  return w.format === format ? w : toWeightData(dequantizeWeight(w), w.out, w.in, format);
}

/** Bytes of one row of an [*, inn] weight in `format`: its elements, and its scales (0 for f32 / f16 / bf16). */
export function rowBytes(format: WeightFormat, inn: number): { words: number; scale: number } {
  const scale = format === 'int8' ? 4 : format === 'int4' ? (inn / 32) * 4 : 0;
  return { words: inn * BYTES_PER_ELEMENT[format], scale };
}

/** The element array and (int8 / int4) the scale array of `w`. */
export function weightArrays(w: LinearWeightData): {
  words: Float32Array | Uint16Array | Int8Array | Uint8Array;
  scale?: Float32Array;
} {
  switch (w.format) {
    case 'f32':
    case 'f16':
    case 'bf16':
      return { words: w.weight };
    case 'int8':
      return { words: w.weightQ, scale: w.weightScale };
    case 'int4':
      return { words: w.weightQ4, scale: w.weightScale };
  }
}

/** Rows [r0, r1) of `w` (views, no copy). */
export function weightRows(w: LinearWeightData, r0: number, r1: number): LinearWeightData {
  if (!(Number.isInteger(r0) && Number.isInteger(r1) && 0 <= r0 && r0 < r1 && r1 <= w.out))
    throw new RangeError(`weightRows: rows [${r0}, ${r1}) of ${w.out}`);
  const shape = { out: r1 - r0, in: w.in };
  const per = w.in; // elements per row
  switch (w.format) {
    case 'f32':
    case 'f16':
    case 'bf16':
      return { ...w, ...shape, weight: w.weight.subarray(r0 * per, r1 * per) } as LinearWeightData;
    case 'int8':
      return {
        ...w,
        ...shape,
        weightQ: w.weightQ.subarray(r0 * per, r1 * per),
        weightScale: w.weightScale.subarray(r0, r1),
      };
    case 'int4':
      return {
        ...w,
        ...shape,
        weightQ4: w.weightQ4.subarray((r0 * per) / 2, (r1 * per) / 2),
        weightScale: w.weightScale.subarray((r0 * per) / 32, (r1 * per) / 32),
      };
  }
}

/** Bytes of one row of a [*, inn] weight in `format`: its elements and its scales (the larger of the two buffers). */
export function rowBindingBytes(format: WeightFormat, inn: number): number {
  return inn * BYTES_PER_ELEMENT[format];
}

/**
 * Row counts of the shards of an [out, inn] weight in `format` such that no buffer (elements or scales) holds more
 * than `maxBindingBytes`: one shard when it fits. Shards are as even as possible, in row order.
 */
export function shardRows(format: WeightFormat, out: number, inn: number, maxBindingBytes: number): number[] {
  if (inn % K_MULTIPLE[format] !== 0) throw new RangeError(`shardRows: ${format} needs in % ${K_MULTIPLE[format]} = 0`);
  // Elements dominate the scales (4 bytes per 32 int4 elements = 16 bytes per row vs inn / 2), so they bound the rows;
  // buffer sizes are rounded up to 4 bytes, which whole rows of these formats already are.
  const perRow = rowBindingBytes(format, inn);
  const most = Math.floor(maxBindingBytes / perRow);
  if (most < 1)
    throw new RangeError(`shardRows: one row of ${perRow} bytes exceeds the ${maxBindingBytes}-byte binding limit`);
  const n = Math.ceil(out / most);
  const base = Math.floor(out / n);
  return Array.from({ length: n }, (_, i) => base + (i < out % n ? 1 : 0));
}

/** The rows of `parts` one after the other (all of one format and `in`): how q/k/v and gate/up are fused. */
export function concatRows(parts: readonly LinearWeightData[]): LinearWeightData {
  const first = parts[0];
  if (!first || parts.some((p) => p.format !== first.format || p.in !== first.in))
    throw new RangeError('concatRows: parts of different formats or widths');
  if (parts.length === 1) return first;
  const out = parts.reduce((a, p) => a + p.out, 0);
  const join = <T extends Float32Array | Uint16Array | Int8Array | Uint8Array>(arrays: T[]): T => {
    const r = new (arrays[0]!.constructor as new (n: number) => T)(arrays.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const a of arrays) {
      r.set(a as never, o);
      o += a.length;
    }
    return r;
  };
  const arrays = parts.map(weightArrays);
  const words = join(arrays.map((a) => a.words));
  const shape = { out, in: first.in };
  switch (first.format) {
    case 'int8':
      return { format: 'int8', ...shape, weightQ: words as Int8Array, weightScale: join(arrays.map((a) => a.scale!)) };
    case 'int4':
      return {
        format: 'int4',
        ...shape,
        weightQ4: words as Uint8Array,
        weightScale: join(arrays.map((a) => a.scale!)),
      };
    default:
      return { format: first.format, ...shape, weight: words } as LinearWeightData;
  }
}
