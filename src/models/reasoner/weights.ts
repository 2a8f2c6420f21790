/**
 * @file The reasoner engine's weights: the pack's reasoner safetensors (the Qwen2 text decoder under the PyTorch
 * `ReasonerLM` state-dict names, docs/formats.md) checked name by name and shape by shape against the config, and
 * uploaded into GPU buffers this object owns. Every matrix (the embedding table, q/k/v/o, gate/up/down, the lm_head)
 * is stored in one weight format per file: f32, f16, bf16, int8 per row or int4 block-32 (`reasoner_weights`
 * variants, like the painter's); a variant the pack does not ship is made from its f32 file at load (quantised by
 * src/kernels/quantize.ts, bit-identical to the tools' writer). Norms and biases stay F32. Two pairs are fused at
 * upload so a layer runs fewer matmuls: q/k/v (rows [q | k | v], biases likewise, the painter's `qkv_proj` layout)
 * and gate/up (rows [gate | up], the layout the swiglu kernel reads): the shared DecoderLayerWeights
 * (src/models/layers/weights.ts). A matrix whose elements exceed the binding limit (the device's
 * `maxStorageBufferBindingSize`, or a lower figure a caller passes) is uploaded in row shards. The loader streams the
 * file (streamReasonerWeights: buffers made from the header, rows converted and written as they arrive);
 * uploadReasonerWeights takes a whole file and gives the same buffers.
 */
import { RgError } from '../../errors';
import { ATTENTION_HEAD_DIMS } from '../../kernels/attention_shape';
import type { AnyWeight, WeightFormat } from '../../kernels/matmul';
import type { LinearWeightData } from '../../kernels/matmul.ref';
import { concatRows, convertWeight, rowBytes, weightArrays } from '../../kernels/weight_data';
import { reasonerWeightPaths, type ReasonerConfig, type WeightVariant } from '../../packs/manifest';
import {
  linearWeights,
  parseSafetensors,
  tensorBytes,
  type SafeDtype,
  type SafeTensors,
} from '../../packs/safetensors';
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
import { allocateWeight, linearData, uploadWeight, type DecoderLayerWeights, type GpuLinear } from '../layers/weights';

export interface ReasonerWeights {
  /** The stored format of every matrix. */
  format: WeightVariant;
  /** `embed_tokens` [vocab, hidden] in `format` (the embed kernel reads any format). */
  embed: AnyWeight;
  layers: DecoderLayerWeights[];
  /** The final RMSNorm weight [hidden]. */
  norm: GPUBuffer;
  /** `lm_head`, or the embedding table itself (the same buffers) when `tie_word_embeddings`. */
  lmHead: AnyWeight;
  /** Bytes uploaded. */
  bytes: number;
  dispose(): void;
}

export interface ReasonerWeightOptions {
  /** The format to hold the matrices in; by default the file's. Only an f32 file can be converted. */
  format?: WeightVariant;
  /**
   * The most bytes one buffer of a matrix may hold before it is split into row shards; by default the device's
   * `maxStorageBufferBindingSize` (and `maxBufferSize`, if lower). Tests pass a small figure to force shards.
   */
  maxBindingBytes?: number;
}

const MATRIX_DTYPE: Record<'f32' | 'f16' | 'bf16', SafeDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

/**
 * Every tensor a file of `format` must hold, with its dtype and shape (and nothing else may be in it), in the order
 * the check reports them: the embedding, then layer by layer (norms, q/k/v with their biases, o, gate, up, down),
 * the final norm, the lm_head.
 */
export function reasonerTensors(c: ReasonerConfig, format: WeightFormat = 'f32'): Map<string, [SafeDtype, number[]]> {
  const H = c.hidden_size;
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  const I = c.intermediate_size;
  const m = new Map<string, [SafeDtype, number[]]>();
  const matrix = (p: string, out: number, inn: number) => {
    if (format === 'int8') {
      m.set(`${p}.weight_q`, ['I8', [out, inn]]);
      m.set(`${p}.weight_scale`, ['F32', [out]]);
    } else if (format === 'int4') {
      m.set(`${p}.weight_q4`, ['U8', [out, inn / 2]]);
      m.set(`${p}.weight_scale`, ['F32', [out, inn / 32]]);
    } else {
      m.set(`${p}.weight`, [MATRIX_DTYPE[format], [out, inn]]);
    }
  };
  matrix('embed_tokens', c.vocab_size, H);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `layers.${l}`;
    m.set(`${p}.input_layernorm.weight`, ['F32', [H]]);
    m.set(`${p}.post_attention_layernorm.weight`, ['F32', [H]]);
    for (const [n, out] of [
      ['q', q],
      ['k', kv],
      ['v', kv],
    ] as const) {
      matrix(`${p}.self_attn.${n}_proj`, out, H);
      if (c.attention_bias) m.set(`${p}.self_attn.${n}_proj.bias`, ['F32', [out]]);
    }
    matrix(`${p}.self_attn.o_proj`, H, q);
    matrix(`${p}.mlp.gate_proj`, I, H);
    matrix(`${p}.mlp.up_proj`, I, H);
    matrix(`${p}.mlp.down_proj`, H, I);
  }
  m.set('norm.weight', ['F32', [H]]);
  if (!c.tie_word_embeddings) matrix('lm_head', c.vocab_size, H);
  return m;
}

/** Every tensor an F32 (or `format`) file must hold, with its shape. */
export function reasonerTensorShapes(c: ReasonerConfig, format: WeightFormat = 'f32'): Map<string, number[]> {
  return new Map([...reasonerTensors(c, format)].map(([n, [, shape]]) => [n, shape]));
}

/** The stored format of a reasoner file, read from how its `embed_tokens` is stored (all matrices share it). */
export function storedFormat(st: SafeTensors): WeightFormat {
  const t = (n: string) => st.tensors.get(`embed_tokens.${n}`);
  if (t('weight_q')) return 'int8';
  if (t('weight_q4')) return 'int4';
  const dtype = t('weight')?.dtype;
  return dtype === 'F16' ? 'f16' : dtype === 'BF16' ? 'bf16' : 'f32';
}

/** Checks `st` against the config: every expected tensor present, of its dtype and shape; no other tensor. */
export function checkReasonerTensors(
  st: SafeTensors,
  c: ReasonerConfig,
  what = 'reasoner weights',
  format: WeightFormat = storedFormat(st),
): void {
  const want = reasonerTensors(c, format);
  const bad = (msg: string): never => {
    throw new RgError('INTEGRITY', `${what}: ${msg}`, {
      hint: 'The weights file does not match the pack manifest; re-download the pack.',
    });
  };
  for (const [name, [dtype, shape]] of want) {
    const t = st.tensors.get(name);
    if (!t) bad(`missing tensor ${name}`);
    if (t!.dtype !== dtype) bad(`${name} is ${t!.dtype}, expected ${dtype}`);
    if (t!.shape.length !== shape.length || t!.shape.some((d, i) => d !== shape[i]))
      bad(`${name} is [${t!.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  const extra = [...st.tensors.keys()].filter((n) => !want.has(n));
  if (extra.length)
    bad(
      `unexpected tensor${extra.length > 1 ? 's' : ''} ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? '…' : ''}`,
    );
}

/**
 * Refuses, before anything is read or allocated, a config the engine's kernels cannot run (BAD_INPUT naming the
 * manifest field): a head_dim the attention kernel has no variant for. The manifest's bounds (CONFIG_BOUNDS) already
 * keep every u32 index of the kernels below 2^32 (vocab × hidden ≤ 2^18 · 2^14, positions × kv heads × head_dim ≤
 * 2^17 · 2^8 · 2^7), and a run's context (prompt + new tokens) is checked against max_position_embeddings when the
 * run is made (EngineRun).
 */
export function checkEngineSupport(c: ReasonerConfig): void {
  const refuse = (field: string, message: string, hint: string): never => {
    throw new RgError('BAD_INPUT', message, { field, hint });
  };
  if (!ATTENTION_HEAD_DIMS.includes(c.head_dim))
    refuse(
      'reasoner.head_dim',
      `reasoner.head_dim ${c.head_dim} is not supported by the attention kernel ` +
        `(supported: ${ATTENTION_HEAD_DIMS.join(', ')})`,
      'Use a pack whose head_dim the engine supports, or run it on the ONNX path.',
    );
}

/** The binding limit weights are sharded at on `device`. */
export function deviceBindingLimit(device: GPUDevice): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
}

/** How one loader makes the reasoner's buffers: F32 tensors back to back, matrices fused by rows. */
interface ReasonerBuilder {
  f32(label: string, names: string[]): GPUBuffer;
  matrix(label: string, prefixes: string[]): AnyWeight;
}

/** The reasoner's weights made by `b`, in one order for both loaders. */
function assemble(
  c: ReasonerConfig,
  b: ReasonerBuilder,
): Pick<ReasonerWeights, 'embed' | 'layers' | 'norm' | 'lmHead'> {
  const lin = (label: string, prefixes: string[], bias: boolean): GpuLinear => ({
    w: b.matrix(label, prefixes),
    bias: bias
      ? b.f32(
          `${label} bias`,
          prefixes.map((p) => `${p}.bias`),
        )
      : undefined,
  });
  const embed = b.matrix('reasoner embed_tokens', ['embed_tokens']);
  const layers = Array.from({ length: c.num_hidden_layers }, (_, l): DecoderLayerWeights => {
    const p = `layers.${l}`;
    return {
      inputNorm: b.f32(`reasoner ${p}.input_layernorm`, [`${p}.input_layernorm.weight`]),
      postNorm: b.f32(`reasoner ${p}.post_attention_layernorm`, [`${p}.post_attention_layernorm.weight`]),
      qkv: lin(
        `reasoner ${p}.qkv`,
        ['q', 'k', 'v'].map((n) => `${p}.self_attn.${n}_proj`),
        c.attention_bias,
      ),
      o: lin(`reasoner ${p}.o_proj`, [`${p}.self_attn.o_proj`], false),
      gateUp: lin(`reasoner ${p}.gate_up`, [`${p}.mlp.gate_proj`, `${p}.mlp.up_proj`], false),
      down: lin(`reasoner ${p}.down_proj`, [`${p}.mlp.down_proj`], false),
    };
  });
  const norm = b.f32('reasoner norm', ['norm.weight']);
  const lmHead = c.tie_word_embeddings ? embed : b.matrix('reasoner lm_head', ['lm_head']);
  return { embed, layers, norm, lmHead };
}

/** The format to hold the matrices in, after checking the file's tensors against the config (both loaders). */
function checkedFormat(st: SafeTensors, c: ReasonerConfig, what: string, opts: ReasonerWeightOptions): WeightVariant {
  const stored = storedFormat(st);
  const format = opts.format ?? stored;
  if (format !== stored && stored !== 'f32')
    throw new RgError('BAD_INPUT', `${what} stores ${stored} weights; only an f32 file can be converted to ${format}`, {
      field: 'reasonerWeights',
      hint: `Choose ${stored}, or a variant the pack ships.`,
    });
  checkReasonerTensors(st, c, what, stored);
  return format;
}

/** The weights over `parts`, owning `buffers` (every buffer the loader made), which dispose() destroys. */
function owning(
  format: WeightVariant,
  parts: Pick<ReasonerWeights, 'embed' | 'layers' | 'norm' | 'lmHead'>,
  bytes: number,
  buffers: GPUBuffer[],
): ReasonerWeights {
  return {
    format,
    ...parts,
    bytes,
    dispose: () => {
      for (const b of buffers) b.destroy();
      buffers.length = 0;
    },
  };
}

/**
 * Uploads a reasoner safetensors file (already read) to `device`, its matrices in `opts.format` (default: as
 * stored). Throws RgError('INTEGRITY') on a bad file, BAD_INPUT when asked to convert a file that is not f32, and
 * leaves no buffer behind when it throws.
 */
export function uploadReasonerWeights(
  device: GPUDevice,
  bytes: Uint8Array,
  c: ReasonerConfig,
  what = 'reasoner.f32.safetensors',
  opts: ReasonerWeightOptions = {},
): ReasonerWeights {
  checkEngineSupport(c);
  const st = parseSafetensors(bytes, what);
  const format = checkedFormat(st, c, what, opts);
  const limit = opts.maxBindingBytes ?? deviceBindingLimit(device);
  const buffers: GPUBuffer[] = [];
  let total = 0;
  const builder: ReasonerBuilder = {
    f32: (label, names) => {
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
    },
    matrix: (label, prefixes) => {
      const d = convertWeight(concatRows(prefixes.map((p) => linearData(bytes, st, p))), format);
      const r = uploadWeight(device, d, label, limit, buffers);
      total += r.bytes;
      return r.weight;
    },
  };
  try {
    return owning(format, assemble(c, builder), total, buffers);
  } catch (e) {
    for (const b of buffers) b.destroy();
    throw e;
  }
}

/** Bytes of `a` as a Uint8Array view. */
const u8 = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Rows of a stored f32 / f16 / bf16 matrix as its typed array (`bytes` already aligned to the element size). */
function floatRows(format: 'f32' | 'f16' | 'bf16', bytes: Uint8Array, rows: number, inn: number): LinearWeightData {
  const shape = { out: rows, in: inn };
  if (format === 'f32')
    return { format, ...shape, weight: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  return { format, ...shape, weight: new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) };
}

/**
 * Streams a reasoner safetensors file into `device`: the buffers are made from the header (as the whole-file
 * uploadReasonerWeights makes them), then each tensor's rows are converted to `opts.format` (convertWeight, the same
 * conversion) in blocks as they arrive and written at their row offsets (q, k, v and gate, up land in their fused
 * matrices). The result is bit-identical to uploadReasonerWeights of the same file, and `stats` says how much was
 * held at once. Throws what uploadReasonerWeights throws (an INTEGRITY error from `pieces` after its last piece too)
 * and leaves no buffer behind when it throws.
 */
export async function streamReasonerWeights(
  device: GPUDevice,
  pieces: AsyncIterable<Uint8Array>,
  c: ReasonerConfig,
  what = 'reasoner.f32.safetensors',
  opts: ReasonerWeightOptions = {},
): Promise<ReasonerWeights & { stats: LoadStats }> {
  checkEngineSupport(c);
  const limit = opts.maxBindingBytes ?? deviceBindingLimit(device);
  const meter = new StagingMeter();
  const buffers: GPUBuffer[] = [];
  let total = 0;
  let made: ReasonerWeights | null = null;
  const onHeader = (st: SafeTensors): SinkFor => {
    const format = checkedFormat(st, c, what, opts);
    const stored = storedFormat(st);
    const sinks = new Map<string, TensorSink>();
    const builder: ReasonerBuilder = {
      f32: (label, names) => {
        const infos = names.map((n) => st.tensors.get(n)!);
        const buf = emptyBuffer(
          device,
          infos.reduce((a, t) => a + t.end - t.begin, 0),
          label,
        );
        buffers.push(buf);
        let o = 0;
        for (const t of infos) {
          const at = o;
          sinks.set(t.name, {
            unit: 4,
            write: (b, off) =>
              device.queue.writeBuffer(buf, at + off, b.buffer as ArrayBuffer, b.byteOffset, b.byteLength),
          });
          o += t.end - t.begin;
        }
        total += o;
        return buf;
      },
      matrix: (label, prefixes) => {
        const lws = prefixes.map((p) => linearWeights(st, p));
        const inn = lws[0]!.in;
        const target = allocateWeight(
          device,
          format,
          lws.reduce((a, l) => a + l.out, 0),
          inn,
          label,
          limit,
          buffers,
        );
        total += target.bytes;
        const per = rowBytes(stored, inn);
        let rowOffset = 0;
        for (const lw of lws) {
          const first = rowOffset;
          if (lw.kind === 'int8' || lw.kind === 'int4') {
            // Stored quantised: held as stored (only f32 converts), the bytes go as they are.
            sinks.set(lw.weight, {
              unit: per.words,
              write: (b, off) => target.write('words', first + off / per.words, b),
            });
            sinks.set(lw.scale, {
              unit: per.scale,
              write: (b, off) => target.write('scale', first + off / per.scale, b),
            });
          } else {
            const kind = lw.kind;
            sinks.set(lw.weight, {
              unit: per.words,
              write: (b, off) => {
                const row0 = first + off / per.words;
                if (format === kind) return target.write('words', row0, b);
                const elem = kind === 'f32' ? 4 : 2;
                const src = b.byteOffset % elem === 0 ? b : b.slice();
                const d = convertWeight(floatRows(kind, src, b.byteLength / per.words, inn), format);
                const { words, scale } = weightArrays(d);
                const held = (src === b ? 0 : src.byteLength) + words.byteLength + (scale?.byteLength ?? 0);
                meter.during(held, () => {
                  target.write('words', row0, u8(words));
                  if (scale) target.write('scale', row0, u8(scale));
                });
              },
            });
          }
          rowOffset += lw.out;
        }
        return target.weight;
      },
    };
    made = owning(format, assemble(c, builder), 0, buffers);
    return (t) => sinks.get(t.name) ?? null;
  };
  try {
    await readSafetensors(pieces, new SafetensorsStream(what, onHeader, meter), meter);
    if (!made) throw new RgError('INTERNAL', `${what}: the stream ended without a header`);
  } catch (e) {
    for (const b of buffers) b.destroy();
    buffers.length = 0;
    throw e;
  }
  const w: ReasonerWeights = made;
  return { ...w, bytes: total, stats: { peakStagingBytes: meter.peak, pieces: meter.pieces } };
}

/**
 * The file to load for `variant` and whether it is converted at load: the pack's file of that variant, else its f32
 * file (quantised or rounded at load). Null when the pack has no reasoner weights; BAD_INPUT when it has neither.
 */
export function reasonerWeightsFile(
  paths: Parameters<typeof reasonerWeightPaths>[0],
  variant: WeightVariant,
  packId: string,
): { path: string; stored: WeightVariant } | null {
  const files = reasonerWeightPaths(paths);
  if (Object.keys(files).length === 0) return null;
  const exact = files[variant];
  if (exact) return { path: exact, stored: variant };
  if (files.f32) return { path: files.f32, stored: 'f32' };
  throw new RgError(
    'BAD_INPUT',
    `pack ${packId} has no ${variant} reasoner weights and no f32 file to make them from ` +
      `(it has: ${Object.keys(files).join(', ')})`,
    { field: 'reasonerWeights', hint: `Choose one of: ${Object.keys(files).join(', ')}.` },
  );
}

/** Streams the pack's reasoner weights through `source` into the GPU; null when the pack has none. */
export async function loadReasonerWeights(
  device: GPUDevice,
  source: PackSource,
  onProgress?: Parameters<PackSource['file']>[1],
  opts: ReasonerWeightOptions = {},
): Promise<(ReasonerWeights & { stats: LoadStats }) | null> {
  const m = await source.manifest();
  // Before the download: a config the kernels cannot run is refused with nothing read.
  if (Object.keys(reasonerWeightPaths(m.paths)).length > 0) checkEngineSupport(m.reasoner);
  const variant = opts.format ?? (reasonerWeightPaths(m.paths).f32 ? 'f32' : undefined);
  const file = variant
    ? reasonerWeightsFile(m.paths, variant, m.id)
    : ((p) => (p ? { path: p, stored: undefined } : null))(Object.values(reasonerWeightPaths(m.paths))[0]);
  if (!file) return null;
  const what = `${m.id}/${file.path}`;
  // Streamed: no whole file nor whole tensor in the JS heap; a source that re-reads a damaged cached copy runs
  // this again from scratch (the failed attempt destroyed its buffers).
  return readPieces(
    source,
    file.path,
    (pieces) => streamReasonerWeights(device, pieces, m.reasoner, what, { ...opts, format: variant }),
    onProgress,
  );
}
