/**
 * @file safetensors header parsing and validation (the painter weights; layout in docs/formats.md). Pure TS, no
 * GPU: the engine uses `tensorBytes` views to upload each tensor. Quantised linears appear as `P.weight_q` (I8) or
 * `P.weight_q4` (U8, two int4 per byte) plus `P.weight_scale` (F32); see `linearWeights`.
 */
import { RgError } from '../errors';

export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'I8' | 'U8';
const DTYPE_BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2, I8: 1, U8: 1 };

export interface SafeTensorInfo {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  /** byte offsets from the start of the file (already including 8 + header length) */
  begin: number;
  end: number;
}

export interface SafeTensors {
  /** byte offset of the data section in the file */
  dataOffset: number;
  metadata: Record<string, string>;
  tensors: Map<string, SafeTensorInfo>;
}

/** Throws the INTEGRITY error of a damaged safetensors file (`what` names it). */
export function damagedFile(what: string, msg: string): never {
  throw new RgError('INTEGRITY', `${what}: ${msg}`, { hint: 'The weights file is damaged; re-download the pack.' });
}

/**
 * Parses and validates the header of a whole safetensors file: every tensor in bounds, sizes matching
 * dtype × shape, data contiguous with no gaps or overlaps, every tensor starting at a multiple of 4 bytes (so it
 * can be read as WGSL `array<u32>`), and the data section exactly filling the file.
 */
export function parseSafetensors(bytes: Uint8Array, what = 'safetensors'): SafeTensors {
  if (bytes.length < 8) damagedFile(what, 'shorter than its 8-byte header length');
  const n = headerLength(bytes, what);
  if (n > bytes.length - 8) damagedFile(what, `header length ${n} does not fit the file`);
  const st = parseHeader(bytes.subarray(8, 8 + n), what);
  const end = dataEnd(st);
  if (end !== bytes.length) damagedFile(what, `data section ends at ${end}, file has ${bytes.length} bytes`);
  return st;
}

/** The header's byte length from a file's first 8 bytes (at most 100 MiB: a larger one is a damaged file). */
export function headerLength(first8: Uint8Array, what = 'safetensors'): number {
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n > 100 * 1024 * 1024) damagedFile(what, `header length ${n} does not fit the file`);
  return n;
}

/** The file offset where the data section ends (the file's length when it is whole). */
export function dataEnd(st: SafeTensors): number {
  let end = st.dataOffset;
  for (const t of st.tensors.values()) end = Math.max(end, t.end);
  return end;
}

/**
 * Parses and validates the JSON header (the `header` bytes after the 8-byte length) alone: everything
 * parseSafetensors checks except the file's length, which a streaming reader checks when the file ends. `align`:
 * where each tensor must start (our files: 4; the safetensors library does not align, so a converter reading
 * its F16 files, where a 3-element bias is 6 bytes, passes 1).
 */
export function parseHeader(header: Uint8Array, what = 'safetensors', align = 4): SafeTensors {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
  } catch (e) {
    damagedFile(what, `header is not JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) damagedFile(what, 'header is not an object');
  const dataOffset = 8 + header.byteLength;
  const metadata = (json.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, SafeTensorInfo>();
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const t = v as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    if (!t || typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES))
      damagedFile(what, `${name}: unsupported dtype ${t?.dtype}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0))
      damagedFile(what, `${name}: bad shape`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0])
      damagedFile(what, `${name}: bad data_offsets`);
    const dtype = t.dtype as SafeDtype;
    const shape = t.shape as number[];
    const size = shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype];
    if (off[1] - off[0] !== size)
      damagedFile(what, `${name}: ${off[1] - off[0]} bytes for ${dtype}[${shape.join(', ')}]`);
    tensors.set(name, { name, dtype, shape, begin: dataOffset + off[0], end: dataOffset + off[1] });
  }
  let at = dataOffset;
  for (const t of sortedTensors({ dataOffset, metadata, tensors })) {
    if (t.begin !== at) damagedFile(what, `${t.name}: data not contiguous (starts at ${t.begin}, expected ${at})`);
    if (t.begin % align !== 0) damagedFile(what, `${t.name}: starts at ${t.begin}, not a multiple of ${align}`);
    at = t.end;
  }
  return { dataOffset, metadata, tensors };
}

/** The tensors in file order. */
export function sortedTensors(st: SafeTensors): SafeTensorInfo[] {
  return [...st.tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
}

/** A view (no copy) of one tensor's bytes. */
export function tensorBytes(file: Uint8Array, st: SafeTensors, name: string): Uint8Array {
  const t = st.tensors.get(name);
  if (!t) damagedFile('safetensors', `no tensor ${name}`);
  return file.subarray(t.begin, t.end);
}

/** Copies one F32 tensor out (aligned) as a Float32Array. */
export function tensorF32(file: Uint8Array, st: SafeTensors, name: string): Float32Array {
  const t = st.tensors.get(name);
  if (!t || t.dtype !== 'F32') damagedFile('safetensors', `${name} is not an F32 tensor`);
  const b = file.slice(t.begin, t.end);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** The typed array each dtype reads as (F16 as its raw 16-bit words). */
export interface SafeArrays {
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
}

/** Copies one tensor out as the typed array of its dtype; throws unless it has dtype `dtype`. */
export function tensorData<D extends SafeDtype>(
  file: Uint8Array,
  st: SafeTensors,
  name: string,
  dtype: D,
): SafeArrays[D] {
  const t = st.tensors.get(name);
  if (!t || t.dtype !== dtype)
    damagedFile('safetensors', `${name} is not an ${dtype} tensor${t ? ` (it is ${t.dtype})` : ''}`);
  const b = file.slice(t.begin, t.end).buffer;
  const make = {
    F32: () => new Float32Array(b),
    F16: () => new Uint16Array(b),
    BF16: () => new Uint16Array(b),
    I8: () => new Int8Array(b),
    U8: () => new Uint8Array(b),
  };
  return make[dtype]() as SafeArrays[D];
}

export type LinearWeights =
  | { kind: 'f32'; weight: string; out: number; in: number; bias?: string }
  | { kind: 'f16'; weight: string; out: number; in: number; bias?: string }
  | { kind: 'bf16'; weight: string; out: number; in: number; bias?: string }
  | { kind: 'int8'; weight: string; scale: string; out: number; in: number; bias?: string }
  | { kind: 'int4'; weight: string; scale: string; out: number; in: number; bias?: string };

/** How the linear `prefix` (e.g. `painter.layers.0.self_attn.qkv_proj`) is stored, checked against formats.md. */
export function linearWeights(st: SafeTensors, prefix: string): LinearWeights {
  const get = (n: string) => st.tensors.get(`${prefix}.${n}`);
  const bias = get('bias');
  const biasName = bias ? `${prefix}.bias` : undefined;
  const checkBias = (out: number) => {
    if (bias && (bias.dtype !== 'F32' || bias.shape.length !== 1 || bias.shape[0] !== out))
      damagedFile(prefix, 'bias must be F32 [out]');
  };
  const w = get('weight');
  if (w) {
    if (w.shape.length !== 2 || (w.dtype !== 'F32' && w.dtype !== 'F16' && w.dtype !== 'BF16'))
      damagedFile(prefix, 'weight must be F32/F16/BF16 [out, in]');
    checkBias(w.shape[0]);
    return {
      kind: w.dtype === 'F32' ? 'f32' : w.dtype === 'F16' ? 'f16' : 'bf16',
      weight: `${prefix}.weight`,
      out: w.shape[0],
      in: w.shape[1],
      bias: biasName,
    };
  }
  const s = get('weight_scale');
  const q8 = get('weight_q');
  if (q8 && s) {
    const [out, inn] = q8.shape;
    if (q8.dtype !== 'I8' || q8.shape.length !== 2 || inn % 4 !== 0)
      damagedFile(prefix, 'weight_q must be I8 [out, in], in % 4 == 0');
    if (s.dtype !== 'F32' || s.shape.length !== 1 || s.shape[0] !== out)
      damagedFile(prefix, 'int8 weight_scale must be F32 [out]');
    checkBias(out);
    return {
      kind: 'int8',
      weight: `${prefix}.weight_q`,
      scale: `${prefix}.weight_scale`,
      out,
      in: inn,
      bias: biasName,
    };
  }
  const q4 = get('weight_q4');
  if (q4 && s) {
    const [out, half] = q4.shape;
    const inn = half * 2;
    if (q4.dtype !== 'U8' || q4.shape.length !== 2 || inn % 32 !== 0)
      damagedFile(prefix, 'weight_q4 must be U8 [out, in/2], in % 32 == 0');
    if (s.dtype !== 'F32' || s.shape.length !== 2 || s.shape[0] !== out || s.shape[1] !== inn / 32)
      damagedFile(prefix, 'int4 weight_scale must be F32 [out, in/32]');
    checkBias(out);
    return {
      kind: 'int4',
      weight: `${prefix}.weight_q4`,
      scale: `${prefix}.weight_scale`,
      out,
      in: inn,
      bias: biasName,
    };
  }
  return damagedFile(prefix, 'no weight, weight_q + weight_scale, or weight_q4 + weight_scale');
}

/** CPU dequantisation (tests, references): the f32 [out, in] matrix w ≈ q · s of any stored form. */
export function dequantLinear(file: Uint8Array, st: SafeTensors, lw: LinearWeights): Float32Array {
  if (lw.kind === 'f32') return tensorF32(file, st, lw.weight);
  if (lw.kind === 'f16') {
    const b = tensorBytes(file, st, lw.weight);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const out = new Float32Array(lw.out * lw.in);
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
    return out;
  }
  if (lw.kind === 'bf16') {
    const h = tensorData(file, st, lw.weight, 'BF16');
    const out = new Float32Array(lw.out * lw.in);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = h[i]! << 16;
    return out;
  }
  const s = tensorF32(file, st, lw.scale);
  const q = tensorBytes(file, st, lw.weight);
  const out = new Float32Array(lw.out * lw.in);
  if (lw.kind === 'int8') {
    const qi = new Int8Array(q.buffer, q.byteOffset, q.byteLength);
    for (let r = 0; r < lw.out; r++) for (let c = 0; c < lw.in; c++) out[r * lw.in + c] = qi[r * lw.in + c] * s[r];
    return out;
  }
  const blocks = lw.in / 32;
  for (let r = 0; r < lw.out; r++)
    for (let c = 0; c < lw.in; c++) {
      const byte = q[r * (lw.in / 2) + (c >> 1)];
      const nib = c & 1 ? byte >> 4 : byte & 15;
      out[r * lw.in + c] = (nib - 8) * s[r * blocks + (c >> 5)];
    }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
