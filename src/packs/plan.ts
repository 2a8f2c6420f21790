/**
 * @file The memory plan: what a pack needs on the GPU at a chosen weights precision, context and image size,
 * computed from its manifest alone (so before any download or allocation), and whether the device allows it.
 *
 * - Weights: every tensor the engines upload, matrices in the chosen precision (int8: one f32 scale per row; int4:
 *   block-32 scales, f32 or f16), vectors (norms, biases) in f32; the ONNX models onnxruntime-web runs (vision
 *   encoder, VAE) counted at their file size. The reasoner's matrices (embedding and lm_head included) take the
 *   reasoner precision; of the painter only the four projections inside the layers are quantised (docs/formats.md),
 *   the rest stays f32.
 * - Runs: the reasoner's run (its K/V cache, layers × 2 × kv_heads × head_dim × context × 4 bytes, and the prefill
 *   scratch of the shared decoder layer at `prefillRows` rows: the engine prefills a long prompt in chunks of
 *   `prefillChunkRows`, so never more) is freed before the painter's run (the condition K/V
 *   of every layer for the CFG branches, and its scratch at branches × (condition + 1 + image tokens) rows). The
 *   peak is the weights plus the larger run. Attention keeps its scores in workgroup memory (flash tiling), so no
 *   score matrix is allocated; the decode path's partials are counted.
 * - Single buffers: a weight matrix can be split into row shards (each ≤ the smaller of `maxBufferSize` and
 *   `maxStorageBufferBindingSize`), so for weights the binding limit applies to one row; run buffers are not split,
 *   so each must fit one binding whole.
 * - Budget: WebGPU does not expose how much memory the GPU has. The plan compares the peak with a budget the user
 *   sets, or DEFAULT_BUDGET_BYTES, and says which one it used.
 *
 * Pure: no GPU, no I/O. The kernels' supported dims arrive as a parameter (KernelSupport), since this room does not
 * import the kernels; src/models/support.ts builds it from the lists the kernels export.
 */
import { RgError } from '../errors';
import type { Manifest } from './manifest';

/** Storage precisions of weight matrices. */
export const PRECISIONS = ['f32', 'f16', 'bf16', 'int8', 'int4'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** Elements per int4 scale block. */
export const INT4_BLOCK = 32;
/** The budget used when the user has not set one: WebGPU reports no memory size (stated in the UI). */
export const DEFAULT_BUDGET_BYTES = 4 * 1024 ** 3;
/** The context the plan assumes when none is chosen (capped by the pack's max positions). */
export const DEFAULT_CONTEXT = 4096;
/** CFG branches the painter runs in one batch. */
export const CFG_BRANCHES = 2;

/** The dims of one decoder (the manifest's reasoner, connector and painter configs have them). */
export interface DecoderDims {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
}

export interface ReasonerDims extends DecoderDims {
  vocab_size: number;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  max_position_embeddings: number;
}

export interface ConnectorDims extends DecoderDims {
  input_size: number;
  /** MindOmni's connector has no final norm (the default); older packs set true. */
  final_norm?: boolean;
}

export interface PainterDims extends DecoderDims {
  latent_channels: number;
  patch_size: number;
  timestep_freq_dim: number;
  /** OmniGen's two time embedders (`time_token`, `t_embedder`; the default) or one shared by both uses. */
  time_embedders?: 'separate' | 'shared';
}

/** What the plan reads from a pack (planInputOf builds it from a manifest; tests build real shapes directly). */
export interface PlanInput {
  id: string;
  reasoner: ReasonerDims;
  /** Null in a `cascade` pack (the condition is the painter's own text embeddings). */
  connector: ConnectorDims | null;
  painter: PainterDims;
  /** Rows of the painter's own embedding table (`painter_text.vocab_size`; cascade packs only). */
  painterTextRows?: number;
  vaeDownscale: number;
  /** Precisions the pack ships the reasoner's engine weights in (empty: the reasoner runs its ONNX only). */
  reasonerPrecisions: Precision[];
  /** Precisions of `paths.painter_weights`. */
  painterPrecisions: Precision[];
  /** Bytes of the ONNX models onnxruntime-web loads besides our engines (vision encoder, VAE encoder, decoder). */
  onnxBytes: number;
  gpuFeatures: string[];
  defaults: { width: number; height: number; steps: number };
  minSize: number;
}

/** What the user chose (each defaults to the pack's). */
export interface PlanChoice {
  reasonerPrecision?: Precision;
  painterPrecision?: Precision;
  /** Int4 scale bytes: 4 (f32 scales, default) or 2 (f16). */
  int4ScaleBytes?: 2 | 4;
  /** Tokens of the reasoner's K/V cache; default min(DEFAULT_CONTEXT, max_position_embeddings). */
  context?: number;
  /**
   * Prompt rows prefilled in one pass; default (and at most) the engine's chunk, `prefillChunkRows` on this device,
   * and never more than the context.
   */
  prefillRows?: number;
  /** Condition rows per CFG branch (the reasoner's hidden states); default the context. */
  conditionTokens?: number;
  width?: number;
  height?: number;
  steps?: number;
  /** false: the reasoner only (Understand). Default true. */
  painter?: boolean;
}

/** The device side: the adapter's limits and features, and the memory budget. */
export interface DeviceAllowance {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  features: readonly string[];
  budgetBytes: number;
  /** 'default': DEFAULT_BUDGET_BYTES (WebGPU exposes no memory size); 'user': set in the device panel. */
  budgetSource: 'default' | 'user';
}

/** What the kernels support, from their exported lists (src/models/support.ts). */
export interface KernelSupport {
  /** Head dims the attention kernel is built for. */
  headDims: readonly number[];
  /** The largest vocabulary the sample kernel draws from (its logits row must also fit one binding). */
  maxVocab: number;
  /** Bytes of the decode attention's partials for `keys` keys (0 when it needs none). */
  decodeScratchBytes?: (keys: number, headsQ: number, headDim: number) => number;
}

export interface PlanBuffer {
  name: string;
  bytes: number;
}

export interface PlanIssue {
  /** 'dims': the kernels or the adapter cannot run the pack at all; 'memory': it does not fit as chosen. */
  kind: 'dims' | 'memory';
  /** The manifest field or choice concerned (reasoner.head_dim, context, requirements.gpu_features, budget…). */
  field: string;
  message: string;
}

export interface MemoryPlan {
  packId: string;
  reasonerPrecision: Precision;
  painterPrecision: Precision | null;
  context: number;
  width: number;
  height: number;
  imageTokens: number;
  conditionTokens: number;
  weightsBytes: { reasoner: number; painter: number; onnx: number; total: number };
  /** K/V and activations of the run with the larger sum (the peak). */
  kvBytes: number;
  activationBytes: number;
  peakRun: 'reasoner' | 'painter';
  runs: { reasoner: { kv: number; activations: number }; painter: { kv: number; activations: number } | null };
  totalBytes: number;
  /** The largest buffer: a run buffer, or one row shard of the largest weight. */
  largestBuffer: PlanBuffer;
  device: DeviceAllowance;
  fits: boolean;
  issues: PlanIssue[];
  /** Choices that would fit, in words (empty when it fits or nothing tried does). */
  suggestions: string[];
}

// ------------------------------------------------------------------------------------------------ sizes
/** Bytes of one row of `inn` elements in precision `p`, without scales. */
export function rowBytes(inn: number, p: Precision): number {
  switch (p) {
    case 'f32':
      return inn * 4;
    case 'f16':
    case 'bf16':
      return inn * 2;
    case 'int8':
      return inn;
    case 'int4':
      return Math.ceil(inn / 2);
  }
}

/** Bytes of the scales of one row (int8: one f32; int4: one per block of 32; else none). */
export function rowScaleBytes(inn: number, p: Precision, int4ScaleBytes: 2 | 4 = 4): number {
  if (p === 'int8') return 4;
  if (p === 'int4') return Math.ceil(inn / INT4_BLOCK) * int4ScaleBytes;
  return 0;
}

/** Bytes of an [out, in] matrix in precision `p`, scales included. */
export function matrixBytes(out: number, inn: number, p: Precision, int4ScaleBytes: 2 | 4 = 4): number {
  return out * (rowBytes(inn, p) + rowScaleBytes(inn, p, int4ScaleBytes));
}

interface Matrix {
  name: string;
  out: number;
  in: number;
  p: Precision;
  /** The config field that sets `in` (named when int4/int8 cannot tile it). */
  inField: string;
  /** Uploaded as one buffer, never in row shards (the painter's tensors). */
  whole?: boolean;
}

interface Weights {
  matrices: Matrix[];
  vectorBytes: number;
}

function layerMatrices(prefix: string, field: string, c: DecoderDims, p: Precision, into: Matrix[]): void {
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const at = `${prefix}.layers.${l}`;
    into.push({ name: `${at}.qkv`, out: q + 2 * kv, in: c.hidden_size, p, inField: `${field}.hidden_size` });
    into.push({ name: `${at}.o_proj`, out: c.hidden_size, in: q, p, inField: `${field}.num_attention_heads` });
    into.push({
      name: `${at}.gate_up`,
      out: 2 * c.intermediate_size,
      in: c.hidden_size,
      p,
      inField: `${field}.hidden_size`,
    });
    into.push({
      name: `${at}.down_proj`,
      out: c.hidden_size,
      in: c.intermediate_size,
      p,
      inField: `${field}.intermediate_size`,
    });
  }
}

function reasonerWeights(r: ReasonerDims, p: Precision): Weights {
  const H = r.hidden_size;
  const matrices: Matrix[] = [
    { name: 'reasoner.embed_tokens', out: r.vocab_size, in: H, p, inField: 'reasoner.hidden_size' },
  ];
  layerMatrices('reasoner', 'reasoner', r, p, matrices);
  if (!r.tie_word_embeddings)
    matrices.push({ name: 'reasoner.lm_head', out: r.vocab_size, in: H, p, inField: 'reasoner.hidden_size' });
  const qkv = (r.num_attention_heads + 2 * r.num_key_value_heads) * r.head_dim;
  const perLayer = 2 * H + (r.attention_bias ? qkv : 0);
  return { matrices, vectorBytes: (r.num_hidden_layers * perLayer + H) * 4 };
}

function painterWeights(cc: ConnectorDims | null, pc: PainterDims, p: Precision, textRows = 0): Weights {
  const D = pc.hidden_size;
  const F = pc.latent_channels * pc.patch_size ** 2;
  const f32 = (name: string, out: number, inn: number): Matrix => ({
    name,
    out,
    in: inn,
    p: 'f32',
    inField: '',
    whole: true,
  });
  const matrices: Matrix[] = [];
  if (cc) {
    matrices.push(f32('connector.input_proj', cc.hidden_size, cc.input_size));
    layerMatrices('connector', 'connector', cc, p, matrices);
  }
  if (textRows > 0)
    matrices.push({ name: 'painter.embed_tokens', out: textRows, in: D, p, inField: 'painter.hidden_size' });
  layerMatrices('painter', 'painter', pc, p, matrices);
  for (const m of matrices) m.whole = true; // the painter's loader binds each tensor whole
  matrices.push(
    f32('painter.x_embedder', D, F),
    f32('painter.t_embedder.linear_1', D, pc.timestep_freq_dim),
    f32('painter.t_embedder.linear_2', D, D),
    f32('painter.final_layer.adaLN_modulation', 2 * D, D),
    f32('painter.final_layer.linear', F, D),
  );
  const separate = (pc.time_embedders ?? 'separate') === 'separate';
  if (separate)
    matrices.push(f32('painter.time_token.mlp.0', D, pc.timestep_freq_dim), f32('painter.time_token.mlp.2', D, D));
  const connectorNorm = cc?.final_norm ? cc.hidden_size : 0;
  const norms =
    (cc ? cc.num_hidden_layers * 2 * cc.hidden_size : 0) + connectorNorm + (pc.num_hidden_layers * 2 + 1) * D;
  const biases = (cc ? cc.hidden_size : 0) + D + D + D + 2 * D + F + (separate ? 2 * D : 0);
  return { matrices, vectorBytes: (norms + biases) * 4 };
}

function weightsTotal(w: Weights, sb: 2 | 4): number {
  return w.matrices.reduce((a, m) => a + matrixBytes(m.out, m.in, m.p, sb), 0) + w.vectorBytes;
}

/** The scratch of the shared decoder layer at `rows` rows for the widest of `configs` (decoderScratch), in bytes. */
function decoderScratchBuffers(rows: number, configs: readonly DecoderDims[], tag: string): PlanBuffer[] {
  const most = (f: (c: DecoderDims) => number) => Math.max(...configs.map(f));
  const hidden = most((c) => c.hidden_size);
  const q = most((c) => c.num_attention_heads * c.head_dim);
  const qkv = most((c) => (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim);
  const inter = most((c) => c.intermediate_size);
  return [
    { name: `${tag} normed`, bytes: rows * hidden * 4 },
    { name: `${tag} qkv`, bytes: rows * qkv * 4 },
    { name: `${tag} q`, bytes: rows * q * 4 },
    { name: `${tag} attention out`, bytes: rows * q * 4 },
    { name: `${tag} tmp`, bytes: rows * hidden * 4 },
    { name: `${tag} gate_up`, bytes: rows * 2 * inter * 4 },
    { name: `${tag} act`, bytes: rows * inter * 4 },
  ];
}

/** Prompt rows one prefill pass of the reasoner engine takes at most; longer prompts go in chunks of this many. */
export const PREFILL_CHUNK_ROWS = 512;

/**
 * Rows per prefill pass of `r` on a device whose buffers bind at most `bindingBytes`: PREFILL_CHUNK_ROWS, or fewer
 * when that many rows of the widest scratch buffer (gate|up, 2 × intermediate floats a row) would not bind; at least 1.
 * The engine (src/models/reasoner/engine.ts) and the plan use this one rule.
 */
export function prefillChunkRows(r: DecoderDims, bindingBytes: number): number {
  const rowBytes = Math.max(...decoderScratchBuffers(1, [r], 'row').map((b) => b.bytes));
  return Math.max(1, Math.min(PREFILL_CHUNK_ROWS, Math.floor(bindingBytes / rowBytes)));
}

function reasonerRun(r: ReasonerDims, ctx: number, rows: number, support: KernelSupport) {
  const kvRow = r.num_key_value_heads * r.head_dim * 4;
  const cache: PlanBuffer = { name: 'reasoner K/V cache (one layer, K or V)', bytes: ctx * kvRow };
  const H = r.hidden_size;
  const act: PlanBuffer[] = [
    { name: 'reasoner prefill x', bytes: rows * H * 4 },
    ...decoderScratchBuffers(rows, [r], 'reasoner prefill'),
    { name: 'reasoner logits', bytes: r.vocab_size * 4 },
    { name: 'reasoner hidden states (condition)', bytes: ctx * H * 4 },
    { name: 'reasoner drawn ids', bytes: ctx * 4 },
    {
      name: 'attention decode partials',
      bytes: support.decodeScratchBytes?.(ctx, r.num_attention_heads, r.head_dim) ?? 0,
    },
  ];
  return {
    kv: 2 * r.num_hidden_layers * cache.bytes,
    activations: act.reduce((a, b) => a + b.bytes, 0),
    buffers: [cache, ...act],
  };
}

function painterRun(
  cc: ConnectorDims | null,
  pc: PainterDims,
  cond: number,
  imageTokens: number,
  latentPixels: number,
  steps: number,
) {
  const B = CFG_BRANCHES;
  const D = pc.hidden_size;
  const F = pc.latent_channels * pc.patch_size ** 2;
  const N = imageTokens;
  const rows = Math.max(B * cond, B * (1 + N));
  const kvOf = (c: DecoderDims) => c.num_key_value_heads * c.head_dim;
  const kvMost = Math.max(cc ? kvOf(cc) : 0, kvOf(pc));
  const cache: PlanBuffer = {
    name: 'painter condition K/V (one layer, K or V)',
    bytes: B * cond * pc.num_key_value_heads * pc.head_dim * 4,
  };
  const act: PlanBuffer[] = [
    { name: 'painter condition in', bytes: B * cond * (cc ? cc.input_size : D) * 4 },
    { name: 'painter condition', bytes: B * cond * D * 4 },
    { name: 'painter prefix hidden', bytes: B * cond * D * 4 },
    ...decoderScratchBuffers(rows, cc ? [cc, pc] : [pc], 'painter'),
    { name: 'painter k', bytes: rows * kvMost * 4 },
    { name: 'painter v', bytes: rows * kvMost * 4 },
    { name: 'painter latent rows', bytes: B * N * D * 4 },
    { name: 'painter final LN', bytes: B * N * D * 4 },
    { name: 'painter velocity', bytes: B * pc.latent_channels * latentPixels * 4 },
    { name: 'painter timestep tables', bytes: steps * (pc.timestep_freq_dim + 5 * D) * 4 },
    { name: 'painter pos2d', bytes: N * D * 4 },
    { name: 'painter patches', bytes: N * F * 4 },
    { name: 'painter x embedded', bytes: N * D * 4 },
    { name: 'painter seq', bytes: B * (1 + N) * D * 4 },
    { name: 'painter final out', bytes: B * N * F * 4 },
  ];
  return {
    kv: 2 * pc.num_hidden_layers * cache.bytes,
    activations: act.reduce((a, b) => a + b.bytes, 0),
    buffers: [cache, ...act],
  };
}

// ------------------------------------------------------------------------------------------------ the plan
const GB = (n: number) => formatPlanBytes(n);

/** Bytes as the model manager writes them (decimal units: 1 GB = 10⁹ bytes). */
export function formatPlanBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const s = u === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${n < 0 ? '-' : ''}${s} ${units[u]}`;
}

function pick(avail: Precision[], want: Precision | undefined, what: string, field: string): Precision {
  if (want !== undefined) {
    if (avail.length && !avail.includes(want))
      throw new RgError('BAD_INPUT', `${what} weights come in ${avail.join(', ')}, not ${want}`, {
        field,
        hint: `Choose one of ${avail.join(', ')}.`,
      });
    return want;
  }
  return avail.includes('f32') || avail.length === 0 ? 'f32' : avail[0]!;
}

/** The dims checks: what the kernels and the adapter cannot run at all, whatever the memory. */
function dimsIssues(input: PlanInput, o: ResolvedChoice, support: KernelSupport, dev: DeviceAllowance): PlanIssue[] {
  const out: PlanIssue[] = [];
  const dims = (field: string, message: string) => out.push({ kind: 'dims', field, message });
  const heads: [string, DecoderDims][] = [['reasoner', input.reasoner]];
  if (o.painter && input.connector) heads.push(['connector', input.connector]);
  if (o.painter) heads.push(['painter', input.painter]);
  for (const [name, c] of heads) {
    if (!support.headDims.includes(c.head_dim))
      dims(
        `${name}.head_dim`,
        `${name}.head_dim ${c.head_dim} is not one the attention kernel supports (${support.headDims.join(', ')})`,
      );
  }
  const r = input.reasoner;
  if (r.vocab_size > support.maxVocab)
    dims(
      'reasoner.vocab_size',
      `reasoner.vocab_size ${r.vocab_size.toLocaleString('en-US')} is over the sample kernel's range ` +
        `(${support.maxVocab.toLocaleString('en-US')})`,
    );
  if (r.vocab_size * 4 > dev.maxStorageBufferBindingSize)
    dims(
      'reasoner.vocab_size',
      `a row of ${r.vocab_size.toLocaleString('en-US')} logits (${GB(r.vocab_size * 4)}) does not fit one storage ` +
        `binding of this adapter (${GB(dev.maxStorageBufferBindingSize)}), which the sample kernel reads whole`,
    );
  if (o.context > r.max_position_embeddings)
    dims(
      'context',
      `the context of ${o.context.toLocaleString('en-US')} tokens is over the pack's max positions ` +
        `(reasoner.max_position_embeddings = ${r.max_position_embeddings.toLocaleString('en-US')})`,
    );
  const missing = input.gpuFeatures.filter((f) => !dev.features.includes(f));
  if (missing.length)
    dims(
      'requirements.gpu_features',
      `the pack needs the WebGPU feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, ` +
        `which this adapter does not offer`,
    );
  const seen = new Set<string>();
  for (const m of o.matrices) {
    const unit = m.p === 'int4' ? INT4_BLOCK : m.p === 'int8' ? 4 : 1;
    if (m.in % unit === 0 || seen.has(m.inField)) continue;
    seen.add(m.inField);
    dims(m.inField, `${m.inField} (${m.in}) is not a multiple of ${unit}, which ${m.p} weights need (${m.name})`);
  }
  return out;
}

interface ResolvedChoice {
  reasonerPrecision: Precision;
  painterPrecision: Precision | null;
  int4ScaleBytes: 2 | 4;
  context: number;
  prefillRows: number;
  conditionTokens: number;
  width: number;
  height: number;
  steps: number;
  painter: boolean;
  matrices: Matrix[];
}

function resolveChoice(input: PlanInput, c: PlanChoice, dev: DeviceAllowance): ResolvedChoice {
  const painter = c.painter ?? true;
  const context = c.context ?? Math.min(DEFAULT_CONTEXT, input.reasoner.max_position_embeddings);
  const reasonerPrecision = pick(input.reasonerPrecisions, c.reasonerPrecision, 'the reasoner', 'reasonerWeights');
  const painterPrecision = painter ? pick(input.painterPrecisions, c.painterPrecision, 'the painter', 'weights') : null;
  const sb = c.int4ScaleBytes ?? 4;
  const matrices = [...reasonerWeights(input.reasoner, reasonerPrecision).matrices];
  if (painterPrecision)
    matrices.push(...painterWeights(input.connector, input.painter, painterPrecision, input.painterTextRows).matrices);
  return {
    reasonerPrecision,
    painterPrecision,
    int4ScaleBytes: sb,
    context,
    prefillRows: Math.min(
      c.prefillRows ?? Infinity,
      prefillChunkRows(input.reasoner, dev.maxStorageBufferBindingSize),
      context,
    ),
    conditionTokens: c.conditionTokens ?? context,
    width: c.width ?? input.defaults.width,
    height: c.height ?? input.defaults.height,
    steps: c.steps ?? input.defaults.steps,
    painter,
    matrices,
  };
}

/** The plan without suggestions (planMemory adds them). */
function computePlan(input: PlanInput, choice: PlanChoice, dev: DeviceAllowance, support: KernelSupport): MemoryPlan {
  const o = resolveChoice(input, choice, dev);
  const sb = o.int4ScaleBytes;
  const rW = weightsTotal(reasonerWeights(input.reasoner, o.reasonerPrecision), sb);
  const pW = o.painterPrecision
    ? weightsTotal(painterWeights(input.connector, input.painter, o.painterPrecision, input.painterTextRows), sb)
    : 0;
  const onnx = input.onnxBytes;
  const down = input.vaeDownscale;
  const lh = Math.floor(o.height / down);
  const lw = Math.floor(o.width / down);
  const p = input.painter.patch_size;
  const imageTokens = Math.floor(lh / p) * Math.floor(lw / p);
  const rr = reasonerRun(input.reasoner, o.context, o.prefillRows, support);
  const pr = o.painter
    ? painterRun(input.connector, input.painter, o.conditionTokens, imageTokens, lh * lw, o.steps)
    : null;
  const peakRun = pr && pr.kv + pr.activations > rr.kv + rr.activations ? 'painter' : 'reasoner';
  const peak = peakRun === 'painter' ? pr! : rr;
  const weightsTotalBytes = rW + pW + onnx;
  const totalBytes = weightsTotalBytes + peak.kv + peak.activations;

  // The largest buffer: one row shard of a weight matrix (or its scales), or a run buffer whole.
  const shardLimit = Math.min(dev.maxBufferSize, dev.maxStorageBufferBindingSize);
  let largest: PlanBuffer = { name: '(none)', bytes: 0 };
  const issues: PlanIssue[] = dimsIssues(input, o, support, dev);
  const memory = (field: string, message: string) => issues.push({ kind: 'memory', field, message });
  for (const m of o.matrices) {
    for (const [part, row] of [
      ['', rowBytes(m.in, m.p)],
      [' scales', rowScaleBytes(m.in, m.p, sb)],
    ] as const) {
      if (row === 0) continue;
      const total = row * m.out;
      const bytes =
        m.whole || row > shardLimit ? (m.whole ? total : row) : Math.min(total, Math.floor(shardLimit / row) * row);
      if (bytes > largest.bytes)
        largest = { name: `${m.name}${part}${bytes < total ? ' (one row shard)' : ''}`, bytes };
      if (m.whole && total > shardLimit)
        memory(
          'weights',
          `${m.name}${part} (${GB(total)}) is larger than a buffer binding of this adapter (${GB(shardLimit)}), ` +
            'and the painter binds each tensor whole: choose a smaller painter precision',
        );
      else if (row > shardLimit)
        memory(
          'weights',
          `one row of ${m.name}${part} (${GB(row)}) is larger than a buffer binding of this adapter ` +
            `(${GB(shardLimit)})`,
        );
    }
  }
  for (const b of [...rr.buffers, ...(pr?.buffers ?? [])]) {
    if (b.bytes > largest.bytes) largest = b;
    if (b.bytes > shardLimit) {
      const field = b.name.startsWith('painter') ? 'size' : 'context';
      const n = (x: number) => x.toLocaleString('en-US');
      memory(
        field,
        `the ${b.name} buffer needs ${n(b.bytes)} bytes, more than one buffer binding of this adapter holds ` +
          `(${n(shardLimit)}: maxStorageBufferBindingSize ${n(dev.maxStorageBufferBindingSize)}, ` +
          `maxBufferSize ${n(dev.maxBufferSize)})`,
      );
    }
  }
  if (totalBytes > dev.budgetBytes)
    memory(
      'budget',
      `it needs ≈ ${GB(totalBytes)} of GPU memory, more than the ${GB(dev.budgetBytes)} budget` +
        (dev.budgetSource === 'default' ? ' (the default: WebGPU does not say how much memory the GPU has)' : ''),
    );
  return {
    packId: input.id,
    reasonerPrecision: o.reasonerPrecision,
    painterPrecision: o.painterPrecision,
    context: o.context,
    width: o.width,
    height: o.height,
    imageTokens: o.painter ? imageTokens : 0,
    conditionTokens: o.painter ? o.conditionTokens : 0,
    weightsBytes: { reasoner: rW, painter: pW, onnx, total: weightsTotalBytes },
    kvBytes: peak.kv,
    activationBytes: peak.activations,
    peakRun,
    runs: {
      reasoner: { kv: rr.kv, activations: rr.activations },
      painter: pr ? { kv: pr.kv, activations: pr.activations } : null,
    },
    totalBytes,
    largestBuffer: largest,
    device: dev,
    fits: issues.length === 0,
    issues,
    suggestions: [],
  };
}

/**
 * The memory plan of `input` at `choice` on `dev`: bytes needed, the largest buffer, whether it fits and why not,
 * and (when it does not fit only for memory) the nearest choices that would.
 */
export function planMemory(
  input: PlanInput,
  choice: PlanChoice,
  dev: DeviceAllowance,
  support: KernelSupport,
): MemoryPlan {
  const plan = computePlan(input, choice, dev, support);
  if (plan.fits || plan.issues.some((i) => i.kind === 'dims')) return plan;
  const fits = (c: PlanChoice) => {
    try {
      return computePlan(input, { ...choice, ...c }, dev, support);
    } catch {
      return null;
    }
  };
  const out: string[] = [];
  const lighter = (p: Precision): PlanChoice => {
    const c: PlanChoice = {};
    const less = (q: Precision | null) => q !== null && rowBytes(64, p) < rowBytes(64, q);
    if (input.reasonerPrecisions.includes(p) && less(plan.reasonerPrecision)) c.reasonerPrecision = p;
    if (input.painterPrecisions.includes(p) && less(plan.painterPrecision)) c.painterPrecision = p;
    return c;
  };
  const smaller = (['int4', 'int8', 'f16', 'bf16'] as const).filter((p) => Object.keys(lighter(p)).length > 0);
  for (const p of smaller) {
    const q = fits(lighter(p));
    if (q?.fits) {
      out.push(`${p} weights (needs ≈ ${GB(q.totalBytes)})`);
      break;
    }
  }
  for (let ctx = Math.floor(plan.context / 2); ctx >= 256; ctx = Math.floor(ctx / 2)) {
    const q = fits(atContext(choice, ctx));
    if (q?.fits) {
      out.push(`a context of ${ctx.toLocaleString('en-US')} tokens (needs ≈ ${GB(q.totalBytes)})`);
      break;
    }
  }
  if (plan.painterPrecision && (plan.width > input.minSize || plan.height > input.minSize)) {
    for (let s = Math.max(plan.width, plan.height) / 2; s >= input.minSize; s /= 2) {
      const q = fits({ width: Math.min(s, plan.width), height: Math.min(s, plan.height) });
      if (q?.fits) {
        out.push(`images of ${Math.min(s, plan.width)}×${Math.min(s, plan.height)} (needs ≈ ${GB(q.totalBytes)})`);
        break;
      }
    }
  }
  if (out.length === 0)
    out.push(...combined(plan, input.minSize, smaller[0], smaller[0] ? lighter(smaller[0]) : {}, fits, choice));
  out.push('a smaller pack');
  return { ...plan, suggestions: out };
}

/** `choice` at a shorter context: the prompt and the condition no longer than it. */
function atContext(choice: PlanChoice, ctx: number): PlanChoice {
  return {
    context: ctx,
    prefillRows: Math.min(choice.prefillRows ?? ctx, ctx),
    conditionTokens: Math.min(choice.conditionTokens ?? ctx, ctx),
  };
}

/**
 * When no single change fits: the smallest precision the pack has together with the longest context and then the
 * largest size that fit (one suggestion, or none).
 */
function combined(
  plan: MemoryPlan,
  minSize: number,
  p: Precision | undefined,
  c: PlanChoice,
  fits: (c: PlanChoice) => MemoryPlan | null,
  choice: PlanChoice,
): string[] {
  const sizes = [Math.max(plan.width, plan.height)];
  if (plan.painterPrecision) while (sizes[sizes.length - 1]! / 2 >= minSize) sizes.push(sizes[sizes.length - 1]! / 2);
  for (let ctx = plan.context; ctx >= Math.min(256, plan.context); ctx = Math.floor(ctx / 2)) {
    for (const s of sizes) {
      const w = Math.min(s, plan.width);
      const h = Math.min(s, plan.height);
      const q = fits({ ...c, ...atContext(choice, ctx), width: w, height: h });
      if (!q?.fits) continue;
      const parts = [
        p && Object.keys(c).length ? `${p} weights` : '',
        ctx < plan.context ? `a context of ${ctx.toLocaleString('en-US')} tokens` : '',
        w < plan.width || h < plan.height ? `images of ${w}×${h}` : '',
      ].filter(Boolean);
      return parts.length ? [`${parts.join(' with ')} (needs ≈ ${GB(q.totalBytes)})`] : [];
    }
    if (ctx <= 1) break;
  }
  return [];
}

/** One line: "needs ≈ X GB GPU (weights Y + KV Z + activations W) at <precision>, <context>, <size>". */
export function describePlan(p: MemoryPlan): string {
  const prec =
    p.painterPrecision && p.painterPrecision !== p.reasonerPrecision
      ? `reasoner ${p.reasonerPrecision}, painter ${p.painterPrecision}`
      : p.reasonerPrecision;
  const size = p.painterPrecision ? `, ${p.width}×${p.height}` : '';
  return (
    `needs ≈ ${GB(p.totalBytes)} GPU (weights ${GB(p.weightsBytes.total)} + KV ${GB(p.kvBytes)} + ` +
    `activations ${GB(p.activationBytes)}) at ${prec}, ${p.context.toLocaleString('en-US')} tokens${size}`
  );
}

/** "this device allows …": the budget and the binding limit. */
export function describeAllowance(d: DeviceAllowance): string {
  const why = d.budgetSource === 'user' ? 'your budget' : 'the default budget: WebGPU does not report GPU memory';
  return (
    `this device allows ${GB(d.budgetBytes)} (${why}), ` +
    `${GB(Math.min(d.maxBufferSize, d.maxStorageBufferBindingSize))} per buffer binding`
  );
}

/** Throws the plan's refusal: UNSUPPORTED_PACK for dims (field named), MEMORY_PLAN with the numbers otherwise. */
export function assertPlanFits(p: MemoryPlan): void {
  if (p.fits) return;
  const dims = p.issues.filter((i) => i.kind === 'dims');
  if (dims.length) {
    throw new RgError('UNSUPPORTED_PACK', `${p.packId} cannot run here: ${dims.map((i) => i.message).join('; ')}`, {
      field: dims[0]!.field,
      hint: dims.some((i) => i.field === 'requirements.gpu_features')
        ? 'Use a browser or GPU that offers the feature, or another pack.'
        : 'Choose another pack (or a shorter context); the kernels do not support these dims.',
    });
  }
  throw new RgError(
    'MEMORY_PLAN',
    `${p.packId} does not fit: ${p.issues.map((i) => i.message).join('; ')}. It ${describePlan(p)}; ` +
      `${describeAllowance(p.device)}.`,
    {
      field: p.issues[0]!.field,
      hint: `Try ${p.suggestions.join(', or ')}.`,
    },
  );
}

// ------------------------------------------------------------------------------------------------ from a manifest
function precisionsOf(v: unknown): Precision[] {
  if (typeof v === 'string') return ['f32'];
  if (v && typeof v === 'object')
    return Object.keys(v).filter((k): k is Precision => (PRECISIONS as readonly string[]).includes(k));
  return [];
}

/** The reasoner engine's precisions: the shipped variants, or every precision when an f32 file can be converted. */
function reasonerPrecisionsOf(v: unknown): Precision[] {
  const shipped = precisionsOf(v);
  return shipped.includes('f32') ? [...PRECISIONS] : shipped;
}

/**
 * The plan's input from a manifest. Reasoner weight variants are read when `paths.reasoner_weights` is a record of
 * precisions; a single path is today's f32 file; none means the reasoner runs its ONNX (counted as f32). An f32
 * reasoner file offers every precision (the engine converts it at load).
 */
export function planInputOf(m: Manifest): PlanInput {
  const paths = m.paths as unknown as Record<string, unknown>;
  const bytesOf = (key: string) => {
    const p = paths[key];
    return typeof p === 'string' ? (m.files.find((f) => f.path === p)?.bytes ?? 0) : 0;
  };
  return {
    id: m.id,
    reasoner: m.reasoner,
    connector: m.connector,
    painter: m.painter,
    painterTextRows: m.painter_text?.vocab_size ?? 0,
    vaeDownscale: m.vae.downscale,
    reasonerPrecisions: reasonerPrecisionsOf(paths.reasoner_weights),
    painterPrecisions: precisionsOf(m.paths.painter_weights),
    onnxBytes: bytesOf('vision_encoder') + bytesOf('vae_encoder') + bytesOf('vae_decoder'),
    gpuFeatures: m.requirements.gpu_features,
    defaults: { width: m.defaults.width, height: m.defaults.height, steps: m.defaults.steps },
    minSize: m.limits.min_size,
  };
}

/** The device allowance from the adapter's reported limits and features, with the user's budget when set. */
export function allowanceOf(
  gpu: { limits: Record<string, number>; features: readonly string[] },
  budgetBytes?: number,
): DeviceAllowance {
  const user = budgetBytes !== undefined && Number.isFinite(budgetBytes) && budgetBytes > 0;
  return {
    maxBufferSize: gpu.limits.maxBufferSize ?? 256 * 1024 ** 2,
    maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize ?? 128 * 1024 ** 2,
    features: gpu.features,
    budgetBytes: user ? budgetBytes : DEFAULT_BUDGET_BYTES,
    budgetSource: user ? 'user' : 'default',
  };
}
