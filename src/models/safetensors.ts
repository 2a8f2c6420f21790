/**
 * @file A small safetensors reader: parses the header (8-byte little-endian length, then JSON) and hands out
 * typed-array views of the tensor data, without copying when the data is aligned for its type. Every malformed
 * header (lengths, dtypes, shapes, offsets outside the data or overlapping) is an INTEGRITY error naming the tensor.
 */
import { RgError } from '../errors';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

const ITEM_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** The typed array each dtype is viewed as (F16 and BF16 as raw 16-bit patterns, BOOL as bytes). */
export interface TypedArrayFor {
  F64: Float64Array; F32: Float32Array; F16: Uint16Array; BF16: Uint16Array; I64: BigInt64Array; I32: Int32Array;
  I16: Int16Array; I8: Int8Array; U64: BigUint64Array; U32: Uint32Array; U16: Uint16Array; U8: Uint8Array; BOOL: Uint8Array;
}

const CTORS = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, I64: BigInt64Array, I32: Int32Array,
  I16: Int16Array, I8: Int8Array, U64: BigUint64Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array, BOOL: Uint8Array,
} as const;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

/** Headers larger than this are refused (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

function bad(message: string): RgError {
  return new RgError('INTEGRITY', `safetensors: ${message}`);
}

/**
 * Parses the header from the start of a file: `bytes` needs to hold at least the 8-byte length and the JSON
 * (so a caller can parse after a ranged fetch of the first bytes). `dataStart` is where tensor data begins;
 * `dataBytes`, when given (the file size minus dataStart), bounds the tensor offsets.
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  fileBytes?: number,
): { tensors: Map<string, TensorInfo>; metadata: Record<string, string>; dataStart: number } {
  if (bytes.byteLength < 8) throw bad(`${bytes.byteLength} bytes is too short for a header`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (len > BigInt(MAX_HEADER)) throw bad(`header length ${len} exceeds ${MAX_HEADER}`);
  const n = Number(len);
  if (8 + n > bytes.byteLength) throw bad(`header of ${n} bytes runs past the ${bytes.byteLength} bytes available`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw bad(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object');

  const dataStart = 8 + n;
  const dataBytes = fileBytes === undefined ? undefined : fileBytes - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
        throw bad('__metadata__ must map strings to strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t === null || typeof t !== 'object') throw bad(`${name}: entry is not an object`);
    const dtype = t.dtype as SafetensorsDtype;
    if (typeof dtype !== 'string' || !(dtype in ITEM_BYTES)) throw bad(`${name}: unknown dtype ${String(t.dtype)}`);
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`${name}: bad shape ${JSON.stringify(shape)}`);
    const offs = t.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      throw bad(`${name}: bad data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const expected = (shape as number[]).reduce((a, d) => a * d, 1) * ITEM_BYTES[dtype];
    if (end - begin !== expected) throw bad(`${name}: ${dtype} ${JSON.stringify(shape)} needs ${expected} bytes but data_offsets span ${end - begin}`);
    if (dataBytes !== undefined && end > dataBytes) throw bad(`${name}: data_offsets end at ${end}, past the ${dataBytes} data bytes`);
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }
  const sorted = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.begin < sorted[i - 1]!.end) throw bad(`${sorted[i]!.name} overlaps ${sorted[i - 1]!.name}`);
  }
  return { tensors, metadata, dataStart };
}

/** A whole safetensors file in memory. */
export class SafetensorsFile {
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;
  private readonly bytes: Uint8Array;
  private readonly dataStart: number;

  constructor(data: ArrayBuffer | Uint8Array) {
    this.bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const h = parseSafetensorsHeader(this.bytes, this.bytes.byteLength);
    this.tensors = h.tensors;
    this.metadata = h.metadata;
    this.dataStart = h.dataStart;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The header entry of `name`; throws INTEGRITY naming the tensor when it is missing. */
  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw bad(`no tensor named ${name}`);
    return t;
  }

  /** The raw bytes of `name` (a view, never a copy). */
  bytesOf(name: string): Uint8Array {
    const t = this.info(name);
    return this.bytes.subarray(this.dataStart + t.begin, this.dataStart + t.end);
  }

  /**
   * The data of `name` as a typed array; `dtype`, when given, must match the header. A view into the file when the
   * data is aligned for its element size, a copy otherwise.
   */
  get<D extends SafetensorsDtype>(name: string, dtype?: D): TypedArrayFor[D] {
    const t = this.info(name);
    if (dtype !== undefined && t.dtype !== dtype) throw bad(`${name} is ${t.dtype}, not ${dtype}`);
    const Ctor = CTORS[t.dtype] as unknown as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedArrayFor[D];
    const size = ITEM_BYTES[t.dtype];
    const offset = this.bytes.byteOffset + this.dataStart + t.begin;
    const count = (t.end - t.begin) / size;
    if (offset % size === 0) return new Ctor(this.bytes.buffer, offset, count);
    const copy = this.bytesOf(name).slice();
    return new Ctor(copy.buffer, 0, count);
  }
}
