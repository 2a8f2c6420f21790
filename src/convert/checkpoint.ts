/**
 * @file What every checkpoint converter shares (docs/formats.md "Converting a checkpoint"): random access to the
 * source files, reading and checking safetensors headers and shard indexes, planning an output file of our layout
 * (sorted names, header padded to 8 bytes, `rgvlm.quantisation` metadata) and writing it tensor by tensor in row
 * blocks through the one conversion (`convertWeight`), hashed as it passes. Memory: one row block, plus the
 * int8 / int4 scales of the matrix being written (they follow its elements in the file).
 */
import { createSHA256 } from 'hash-wasm';
import { RgError } from '../errors';
import type { WeightFormat } from '../kernels/matmul';
import type { LinearWeightData } from '../kernels/matmul.ref';
import { convertWeight, weightArrays } from '../kernels/weight_data';
import type { FileEntry } from '../packs/manifest';
import { headerLength, parseHeader, type SafeDtype, type SafeTensorInfo } from '../packs/safetensors';
import { StagingMeter } from '../packs/safetensors_stream';

/** Random access to the files of a checkpoint (a folder, a URL with Range, a File). */
export interface CheckpointReader {
  /** The file's size in bytes, or null when the checkpoint has no such file. */
  size(path: string): Promise<number | null>;
  /** Bytes [begin, end) of `path`. */
  read(path: string, begin: number, end: number): Promise<Uint8Array>;
}

/** One output file being written, in order. */
export interface FileWriter {
  /** The next bytes; the writer may keep `bytes` (the converter never reuses them). */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Where the converted files go. */
export interface ConvertSink {
  create(path: string, bytes: number): Promise<FileWriter>;
}

export interface ConvertOptions {
  weights: WeightFormat;
  /** Input bytes read per row block (whole rows; at least one). Default 4 MiB. */
  blockBytes?: number;
  /** Counts what the conversion holds at once (the blocks, scales and headers). */
  meter?: StagingMeter;
}

/** Throws BAD_INPUT naming the problem (and `field`), with the converter's `hint`. */
export type Refuse = (message: string, field?: string) => never;

export function refuser(hint: string): Refuse {
  return (message, field) => {
    throw new RgError('BAD_INPUT', message, { field, hint });
  };
}

/** The files under `dir` of `src` (a checkpoint's subfolder, e.g. MindOmni's `mllm/`). */
export function subReader(src: CheckpointReader, dir: string): CheckpointReader {
  const p = dir.replace(/\/?$/, '/');
  return { size: (path) => src.size(p + path), read: (path, b, e) => src.read(p + path, b, e) };
}

/**
 * One input tensor and the output name (ours) it becomes: a matrix [out, in] or a vector [n]. `source` is the
 * input's own shape when it differs but has the same row-major bytes (a Conv2d patch embed read as its Linear);
 * `f32` keeps a matrix F32 whatever the chosen format (the painter quantises only its layers' projections).
 */
export interface Mapping {
  hf: string;
  ours: string;
  shape: [number] | [number, number];
  source?: number[];
  f32?: boolean;
}

export type FoundTensors = Map<string, { info: SafeTensorInfo; file: string }>;

const DTYPE_BYTES: Partial<Record<SafeDtype, number>> = { F32: 4, F16: 2, BF16: 2 };
const INPUT_FORMAT: Partial<Record<SafeDtype, WeightFormat>> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
/** K multiples of our kernels per stored format (src/kernels/matmul.ts K_MULTIPLE, without its shaders). */
export const K_MULTIPLE: Record<WeightFormat, number> = { f32: 1, f16: 2, int8: 4, int4: 32, bf16: 2 };

export async function readWhole(src: CheckpointReader, path: string): Promise<Uint8Array | null> {
  const n = await src.size(path);
  return n === null ? null : src.read(path, 0, n);
}

export function parseJson(b: Uint8Array, what: string, bad: Refuse): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(b));
  } catch (e) {
    return bad(`${what} is not valid JSON: ${(e as Error).message}`, what);
  }
}

/** `path` parsed as JSON; null when absent and not `required`. */
export async function readJson(src: CheckpointReader, path: string, bad: Refuse, required = true): Promise<unknown> {
  const b = await readWhole(src, path);
  if (!b) return required ? bad(`the checkpoint has no ${path}`, path) : null;
  return parseJson(b, path, bad);
}

/** The shard of every tensor from a `*.safetensors.index.json` (`index`), or null when there is none. */
export async function shardMap(src: CheckpointReader, index: string, bad: Refuse): Promise<Map<string, string> | null> {
  const json = await readJson(src, index, bad, false);
  if (json === null) return null;
  const wm = (json as { weight_map?: unknown }).weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) bad(`${index} has no weight_map`, index);
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(wm)) {
    if (typeof v !== 'string' || !/^[\w.-]+\.safetensors$/.test(v))
      bad(`${index}: ${k} maps to ${JSON.stringify(v)}`, index);
    m.set(k, v);
  }
  return m;
}

/**
 * Reads and checks each file's header; returns every tensor with its file. `why` says why a missing one is needed;
 * `align`: where tensors must start (parseHeader).
 */
export async function readHeaders(
  src: CheckpointReader,
  files: string[],
  meter: StagingMeter,
  bad: Refuse,
  why: (file: string) => string,
  align = 4,
): Promise<FoundTensors> {
  const found: FoundTensors = new Map();
  for (const file of files) {
    const size = await src.size(file);
    if (size === null) bad(`${file} is missing (${why(file)})`, file);
    if (size < 8) bad(`${file} is not a safetensors file (${size} bytes)`, file);
    const n = headerLength(await src.read(file, 0, 8), file);
    if (8 + n > size) bad(`${file}: its header of ${n} bytes does not fit the file`, file);
    const header = await src.read(file, 8, 8 + n);
    const st = meter.during(n, () => parseHeader(header, file, align));
    for (const t of st.tensors.values()) {
      if (t.end > size) bad(`${file}: ${t.name} ends past the file`, file);
      found.set(t.name, { info: t, file });
    }
  }
  return found;
}

/**
 * Checks that every mapping's tensor is there (in the shard `index` puts it, when there is an index), of a float
 * dtype and its expected shape; throws naming the first problem. `means` says what fixes the shape.
 */
export function checkTensors(
  maps: Mapping[],
  found: FoundTensors,
  bad: Refuse,
  means: string,
  index?: { map: Map<string, string>; name: string } | null,
): void {
  for (const m of maps) {
    const t = found.get(m.hf);
    if (index) {
      const where = index.map.get(m.hf);
      if (!where) bad(`the checkpoint has no tensor ${m.hf} (${index.name} does not list it)`, m.hf);
      if (!t || t.file !== where) bad(`${m.hf} is not in ${where}, where ${index.name} puts it`, m.hf);
    }
    if (!t) bad(`the checkpoint has no tensor ${m.hf}`, m.hf);
    if (!(t.info.dtype in INPUT_FORMAT)) bad(`${m.hf} is ${t.info.dtype}; only BF16, F16 and F32 convert`, m.hf);
    const want = m.source ?? m.shape;
    if (JSON.stringify(t.info.shape) !== JSON.stringify(want))
      bad(`${m.hf} has shape [${t.info.shape.join(', ')}]; ${means} means [${want.join(', ')}]`, m.hf);
  }
}

/** An output tensor: its bytes come from `src` (elements or scales of a matrix, or a vector as F32). */
export interface OutTensor {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  bytes: number;
  src: { map: Mapping; info: SafeTensorInfo; file: string; part: 'words' | 'scale' | 'vector' };
  /** The stored format of a matrix's elements (f32 for vectors and `Mapping.f32` matrices). */
  format: WeightFormat;
}

/** One planned weights file: its tensors in file order and the format it is labelled with. */
export interface WeightsPlan {
  path: string;
  format: WeightFormat;
  tensors: OutTensor[];
}

/** The output tensors of `maps` in format `f`, sorted by name (the tools' writer order, docs/formats.md). */
export function planWeights(path: string, maps: Mapping[], found: FoundTensors, f: WeightFormat): WeightsPlan {
  const out: OutTensor[] = [];
  for (const map of maps) {
    const { info, file } = found.get(map.hf)!;
    const src = (part: OutTensor['src']['part']) => ({ map, info, file, part });
    if (map.shape.length === 1) {
      const shape = map.shape;
      out.push({ name: map.ours, dtype: 'F32', shape, bytes: shape[0] * 4, src: src('vector'), format: 'f32' });
      continue;
    }
    const [o, i] = map.shape;
    const g: WeightFormat = map.f32 ? 'f32' : f;
    if (g === 'int8') {
      out.push({
        name: `${map.ours}.weight_q`,
        dtype: 'I8',
        shape: [o, i],
        bytes: o * i,
        src: src('words'),
        format: g,
      });
      out.push({
        name: `${map.ours}.weight_scale`,
        dtype: 'F32',
        shape: [o],
        bytes: o * 4,
        src: src('scale'),
        format: g,
      });
    } else if (g === 'int4') {
      const q4 = { name: `${map.ours}.weight_q4`, dtype: 'U8' as const, shape: [o, i / 2], bytes: (o * i) / 2 };
      out.push({ ...q4, src: src('words'), format: g });
      const sc = { name: `${map.ours}.weight_scale`, dtype: 'F32' as const, shape: [o, i / 32], bytes: (o * i) / 8 };
      out.push({ ...sc, src: src('scale'), format: g });
    } else {
      const dtype = ({ f32: 'F32', f16: 'F16', bf16: 'BF16' } as const)[g];
      const bytes = o * i * (g === 'f32' ? 4 : 2);
      out.push({ name: `${map.ours}.weight`, dtype, shape: [o, i], bytes, src: src('words'), format: g });
    }
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { path, format: f, tensors: out };
}

/** The safetensors header of a plan as the tools write it: sorted keys, compact, spaces to a multiple of 8. */
function headerBytes(p: WeightsPlan): Uint8Array {
  const h: Record<string, unknown> = { __metadata__: { format: 'pt', 'rgvlm.quantisation': p.format } };
  let off = 0;
  for (const t of p.tensors) {
    h[t.name] = { data_offsets: [off, off + t.bytes], dtype: t.dtype, shape: t.shape };
    off += t.bytes;
  }
  let json = JSON.stringify(h);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

/** Writes files into a sink, each hashed as it passes; `files` lists what was written, in order. */
export class HashingWriter {
  readonly files: FileEntry[] = [];
  constructor(private readonly sink: ConvertSink) {}

  async write(path: string, bytes: number, parts: (put: (b: Uint8Array) => Promise<void>) => Promise<void>) {
    const w = await this.sink.create(path, bytes);
    const h = await createSHA256();
    h.init();
    let n = 0;
    await parts(async (b) => {
      h.update(b);
      n += b.byteLength;
      await w.write(b);
    });
    await w.close();
    if (n !== bytes) throw new RgError('INTERNAL', `${path}: wrote ${n} bytes, planned ${bytes}`);
    this.files.push({ path, bytes, sha256: h.digest('hex') });
  }

  whole(path: string, b: Uint8Array): Promise<void> {
    return this.write(path, b.byteLength, (put) => put(b));
  }

  /** The weights file of `p`, each tensor read from `src` in row blocks of about `blockBytes` input bytes. */
  async weights(src: CheckpointReader, p: WeightsPlan, blockBytes: number, meter: StagingMeter, bad: Refuse) {
    const header = headerBytes(p);
    const total = header.byteLength + p.tensors.reduce((a, t) => a + t.bytes, 0);
    await this.write(p.path, total, async (put) => {
      await put(header);
      const scales = new Map<string, Uint8Array>();
      for (const t of p.tensors) {
        if (t.src.part === 'scale') {
          const s = scales.get(t.src.map.ours)!;
          scales.delete(t.src.map.ours);
          await put(s);
          meter.release(s.byteLength);
          continue;
        }
        const scale = await streamTensor(src, t, blockBytes, meter, put, bad);
        if (scale) {
          meter.hold(scale.byteLength);
          scales.set(t.src.map.ours, scale);
        }
      }
    });
  }
}

/**
 * Writes tensor `t` (a vector as F32, or a matrix's elements in its format) block by block; for int8 / int4 returns
 * the matrix's scales, which the file holds after its elements.
 */
async function streamTensor(
  src: CheckpointReader,
  t: OutTensor,
  blockBytes: number,
  meter: StagingMeter,
  put: (b: Uint8Array) => Promise<void>,
  bad: Refuse,
): Promise<Uint8Array | null> {
  const { info, file, map } = t.src;
  const inFormat = INPUT_FORMAT[info.dtype]!;
  const per = DTYPE_BYTES[info.dtype]!;
  const [rows, cols] = map.shape.length === 2 ? map.shape : [1, map.shape[0]];
  const target = t.format;
  const rowsPer = Math.max(1, Math.floor(blockBytes / (cols * per)));
  const scale =
    target === 'int8' ? new Float32Array(rows) : target === 'int4' ? new Float32Array((rows * cols) / 32) : null;
  for (let r0 = 0; r0 < rows; r0 += rowsPer) {
    const r1 = Math.min(rows, r0 + rowsPer);
    const raw = await src.read(file, info.begin + r0 * cols * per, info.begin + r1 * cols * per);
    if (raw.byteLength !== (r1 - r0) * cols * per) bad(`${file}: ${map.hf} is cut short`, map.hf);
    meter.hold(raw.byteLength);
    try {
      const { words, scale: s } = weightArrays(convertWeight(inputBlock(raw, inFormat, r1 - r0, cols), target));
      const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength).slice();
      if (s && scale) scale.set(s, target === 'int8' ? r0 : (r0 * cols) / 32);
      meter.during(bytes.byteLength, () => undefined); // the converted block, held with the raw one
      await put(bytes);
    } finally {
      meter.release(raw.byteLength);
    }
  }
  return scale ? new Uint8Array(scale.buffer) : null;
}

/** Rows of an input tensor as the LinearWeightData of its dtype (copied when the bytes are not aligned). */
function inputBlock(raw: Uint8Array, format: WeightFormat, out: number, inn: number): LinearWeightData {
  const size = format === 'f32' ? 4 : 2;
  const b = raw.byteOffset % size === 0 ? raw : raw.slice();
  if (format === 'f32') return { format, out, in: inn, weight: new Float32Array(b.buffer, b.byteOffset, out * inn) };
  return { format: format as 'f16' | 'bf16', out, in: inn, weight: new Uint16Array(b.buffer, b.byteOffset, out * inn) };
}
