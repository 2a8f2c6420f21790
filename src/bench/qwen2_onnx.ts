/**
 * @file A Qwen2 decoder (Qwen2ForCausalLM) as an ONNX graph built in code from int4 block-32 weights, in the shape
 * transformers.js runs for `model_type: "qwen2"`: inputs `input_ids`, `attention_mask`, `position_ids` and
 * `past_key_values.{i}.key/value` [batch, kv_heads, past, head_dim]; outputs `logits` and `present.{i}.key/value`.
 * Every linear layer is a com.microsoft MatMulNBits on the weights exactly as stored (our int4 layout is its layout:
 * B [N, K / 32, 16] bytes, element 2j in the low nibble, scales [N · K / 32], no zero points → zero point 8), so the
 * benchmark compares two engines on the same bytes. Only benchmarks use it.
 *
 * Two graphs: 'fused' uses the contrib ops an int4 export for ORT-web carries (SimplifiedLayerNormalization,
 * GroupQueryAttention with its own rotary embedding from cos/sin tables), 'plain' only standard ops (RMSNorm and
 * RoPE from `position_ids` written out, the past concatenated, a causal and padding mask, kv heads shared by a
 * reshape of the queries).
 */
import { RgError } from '../errors';
import type { LinearWeightData } from '../kernels/matmul.ref';
import { dequantizeWeight } from '../kernels/matmul.ref';
import { ropeInvFreq } from '../kernels/rope';
import type { ReasonerConfig } from '../packs/manifest';
import { buildModel, GraphBuilder } from '../runtime/onnx_graph';

/** The config fields the graph depends on. */
export type Qwen2OnnxConfig = Pick<
  ReasonerConfig,
  | 'vocab_size'
  | 'hidden_size'
  | 'num_hidden_layers'
  | 'num_attention_heads'
  | 'num_key_value_heads'
  | 'head_dim'
  | 'intermediate_size'
  | 'max_position_embeddings'
  | 'rope_theta'
  | 'rms_norm_eps'
  | 'tie_word_embeddings'
  | 'attention_bias'
>;

/**
 * One tensor by its PyTorch `ReasonerLM` name (docs/formats.md): a matrix `P.weight` (`embed_tokens`, q/k/v/o,
 * gate/up/down, `lm_head`) as LinearWeightData, in int4; a norm weight or a bias as Float32Array.
 */
export type Qwen2Tensor = (name: string) => LinearWeightData | Float32Array;

export interface Qwen2OnnxOptions {
  /** 'fused' (default): SimplifiedLayerNormalization + GroupQueryAttention; 'plain': standard ops only. */
  graph?: 'fused' | 'plain';
  /**
   * 'gather' (default): a Gather on the dequantised f32 table; 'quantized': com.microsoft GatherBlockQuantized on
   * the int4 table itself (the same bytes the tied lm_head reads).
   */
  embedding?: 'gather' | 'quantized';
}

const MS = 'com.microsoft';

/** Builds the graph and serialises it to ONNX bytes. */
export function buildQwen2Onnx(c: Qwen2OnnxConfig, tensor: Qwen2Tensor, opts: Qwen2OnnxOptions = {}): Uint8Array {
  const graph = opts.graph ?? 'fused';
  const embedding = opts.embedding ?? 'gather';
  if (graph !== 'fused' && graph !== 'plain')
    throw new RgError('BAD_INPUT', `buildQwen2Onnx: graph must be 'fused' or 'plain', got ${String(graph)}`, {
      field: 'graph',
    });
  if (embedding !== 'gather' && embedding !== 'quantized')
    throw new RgError(
      'BAD_INPUT',
      `buildQwen2Onnx: embedding must be 'gather' or 'quantized', got ${String(embedding)}`,
      { field: 'embedding' },
    );
  const H = c.hidden_size;
  const D = c.head_dim;
  const NQ = c.num_attention_heads;
  const NKV = c.num_key_value_heads;
  const I = c.intermediate_size;
  const V = c.vocab_size;
  if (NQ % NKV !== 0)
    throw new RgError('BAD_INPUT', `num_attention_heads ${NQ} is not a multiple of num_key_value_heads ${NKV}`, {
      field: 'num_key_value_heads',
    });

  const g = new GraphBuilder();
  const { nodes, op, init, i64 } = g;

  const matrix = (name: string, out: number, inn: number): Extract<LinearWeightData, { format: 'int4' }> => {
    const t = tensor(name);
    const bad = (what: string): never => {
      throw new RgError('BAD_INPUT', `buildQwen2Onnx: tensor ${name} ${what}`, {
        field: name,
        hint: 'Give every matrix as int4 block-32 LinearWeightData (quantizeInt4 / toWeightData).',
      });
    };
    if (t instanceof Float32Array) return bad('is a Float32Array; a matrix must be LinearWeightData');
    if (t.format !== 'int4') return bad(`is ${t.format}; MatMulNBits needs int4`);
    if (t.out !== out || t.in !== inn) return bad(`is [${t.out}, ${t.in}], expected [${out}, ${inn}]`);
    if (t.weightQ4.length !== (out * inn) / 2 || t.weightScale.length !== (out * inn) / 32)
      return bad(`has ${t.weightQ4.length} bytes and ${t.weightScale.length} scales for [${out}, ${inn}]`);
    return t;
  };
  const vector = (name: string, len: number): Float32Array => {
    const t = tensor(name);
    if (!(t instanceof Float32Array) || t.length !== len)
      throw new RgError(
        'BAD_INPUT',
        `buildQwen2Onnx: tensor ${name} must be a Float32Array of ${len}, got ` +
          (t instanceof Float32Array ? `${t.length} elements` : `${t.format} LinearWeightData`),
        { field: name },
      );
    return t;
  };

  /** The int4 initializers of a matrix, once per distinct weight (a tied lm_head shares the embedding's). */
  const int4Inits = new Map<LinearWeightData, [string, string]>();
  const int4 = (name: string, w: Extract<LinearWeightData, { format: 'int4' }>): [string, string] => {
    let pair = int4Inits.get(w);
    if (!pair) {
      pair = [
        init(`${name}.q4`, { dims: [w.out, w.in / 32, 16], type: 'uint8', data: w.weightQ4 }),
        init(`${name}.scales`, { dims: [(w.out * w.in) / 32], data: w.weightScale }),
      ];
      int4Inits.set(w, pair);
    }
    return pair;
  };
  /** x · Wᵀ (+ b) with MatMulNBits on the stored int4 bytes. */
  const linear = (x: string, p: string, out: number, inn: number, bias: boolean): string => {
    const w = matrix(`${p}.weight`, out, inn);
    const [q, s] = int4(p, w);
    const y = op('MatMulNBits', [x, q, s], { K: inn, N: out, bits: 4, block_size: 32 }, MS);
    return bias ? op('Add', [y, init(`${p}.bias`, { dims: [out], data: vector(`${p}.bias`, out) })]) : y;
  };
  const eps = c.rms_norm_eps;
  const one = init('one_f', { dims: [], data: [1] });
  const rmsnorm = (x: string, name: string): string => {
    const w = init(name, { dims: [H], data: vector(name, H) });
    if (graph === 'fused')
      return op('SimplifiedLayerNormalization', [x, w], { axis: -1, epsilon: { f: eps }, stash_type: 1 });
    const ms = op('ReduceMean', [op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = op('Div', [one, op('Sqrt', [op('Add', [ms, init(`${name}.eps`, { dims: [], data: [eps] })])])]);
    return op('Mul', [op('Mul', [x, inv]), w]);
  };

  // Embedding.
  const embedW = matrix('embed_tokens.weight', V, H);
  let x: string;
  if (embedding === 'quantized') {
    const q = init('embed_tokens.q4_rows', { dims: [V, H / 2], type: 'uint8', data: embedW.weightQ4 });
    const s = init('embed_tokens.scales_rows', { dims: [V, H / 32], data: embedW.weightScale });
    x = op(
      'GatherBlockQuantized',
      [q, 'input_ids', s],
      { gather_axis: 0, quantize_axis: 1, block_size: 32, bits: 4 },
      MS,
    );
  } else {
    const table = init('embed_tokens.f32', { dims: [V, H], data: dequantizeWeight(embedW) });
    x = op('Gather', [table, 'input_ids'], { axis: 0 });
  }

  // Per-run values shared by the layers.
  const invFreq = ropeInvFreq(D, c.rope_theta);
  let mask = '';
  let cos = '';
  let sin = '';
  let seqlensK = '';
  let totalLen = '';
  const zero = i64('zero_i', [0]);
  const oneI = i64('one_i', [1]);
  const two = i64('two_i', [2]);
  if (graph === 'fused') {
    // GroupQueryAttention rotates q and k itself, at positions past + i (no padding in a benchmark batch).
    const [cosT, sinT] = ropeTables(c.max_position_embeddings, invFreq, 1);
    cos = init('cos_cache', { dims: [c.max_position_embeddings, D / 2], data: cosT });
    sin = init('sin_cache', { dims: [c.max_position_embeddings, D / 2], data: sinT });
    const total = op('ReduceSum', [op('Cast', ['attention_mask'], { to: 7 }), oneI], { keepdims: 0 });
    seqlensK = op('Cast', [op('Sub', [total, oneI])], { to: 6 });
    totalLen = op('Cast', [op('Squeeze', [op('Shape', ['attention_mask'], { start: 1, end: 2 }), zero])], { to: 6 });
  } else {
    // cos/sin [B, S, 1, D] gathered by position_ids from tables (Cos/Sin nodes on the GPU were less accurate for
    // large angles: 1.6e-4 of the largest logit against 4e-7 with tables, measured on tiny-random).
    const [cosT, sinT] = ropeTables(c.max_position_embeddings, invFreq, 2);
    const table = (name: string, data: Float32Array) =>
      op('Unsqueeze', [
        op('Gather', [init(name, { dims: [c.max_position_embeddings, D], data }), 'position_ids'], { axis: 0 }),
        two,
      ]);
    cos = table('cos_table', cosT);
    sin = table('sin_table', sinT);
    // Additive mask [B, 1, S, T]: key j is visible to query i (absolute position T − S + i) when j ≤ T − S + i
    // and attention_mask[j] is 1.
    const T = op('Squeeze', [op('Shape', ['attention_mask'], { start: 1, end: 2 }), zero]);
    const S = op('Squeeze', [op('Shape', ['input_ids'], { start: 1, end: 2 }), zero]);
    const scalarOne = init('one_s', { dims: [], type: 'int64', data: BigInt64Array.of(1n) });
    const scalarZero = init('zero_s', { dims: [], type: 'int64', data: BigInt64Array.of(0n) });
    const kpos = op('Unsqueeze', [op('Range', [scalarZero, T, scalarOne]), zero]);
    const qpos = op('Unsqueeze', [op('Range', [op('Sub', [T, S]), T, scalarOne]), oneI]);
    const causal = op('LessOrEqual', [kpos, qpos]);
    const pad = op('Unsqueeze', [op('Cast', ['attention_mask'], { to: 9 }), i64('axes_12', [1, 2])]);
    mask = op('Where', [
      op('And', [causal, pad]),
      init('mask_open', { dims: [], data: [0] }),
      init('mask_shut', { dims: [], data: [-1e9] }),
    ]);
  }
  /** x · cos + rotate_half(x) · sin on [B, S, heads, D]. */
  const rope = (t: string): string => {
    const lo = `${t}_lo`;
    const hi = `${t}_hi`;
    nodes.push({ op: 'Split', inputs: [t, i64(`${t}_split`, [D / 2, D / 2])], outputs: [lo, hi], attrs: { axis: -1 } });
    const rot = op('Concat', [op('Neg', [hi]), lo], { axis: -1 });
    return op('Add', [op('Mul', [t, cos]), op('Mul', [rot, sin])]);
  };
  const shape = (name: string, v: number[]) => i64(name, v);
  const toHeads = shape('shape_heads_q', [0, 0, NQ, D]);
  const toHeadsKv = shape('shape_heads_kv', [0, 0, NKV, D]);
  const bnsh = [0, 2, 1, 3];

  const pastInputs: string[] = [];
  const presentOutputs: string[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `layers.${l}`;
    const pastK = `past_key_values.${l}.key`;
    const pastV = `past_key_values.${l}.value`;
    const presK = `present.${l}.key`;
    const presV = `present.${l}.value`;
    pastInputs.push(pastK, pastV);
    presentOutputs.push(presK, presV);

    const h = rmsnorm(x, `${p}.input_layernorm.weight`);
    const q = linear(h, `${p}.self_attn.q_proj`, NQ * D, H, c.attention_bias);
    const k = linear(h, `${p}.self_attn.k_proj`, NKV * D, H, c.attention_bias);
    const v = linear(h, `${p}.self_attn.v_proj`, NKV * D, H, c.attention_bias);
    let attn: string;
    if (graph === 'fused') {
      attn = `${p}.attn`;
      nodes.push({
        op: 'GroupQueryAttention',
        domain: MS,
        inputs: [q, k, v, pastK, pastV, seqlensK, totalLen, cos, sin],
        outputs: [attn, presK, presV],
        attrs: {
          num_heads: NQ,
          kv_num_heads: NKV,
          do_rotary: 1,
          rotary_interleaved: 0,
          scale: { f: 1 / Math.sqrt(D) },
        },
      });
    } else {
      const qh = op('Transpose', [rope(op('Reshape', [q, toHeads]))], { perm: bnsh }); // [B, NQ, S, D]
      const kh = op('Transpose', [rope(op('Reshape', [k, toHeadsKv]))], { perm: bnsh });
      const vh = op('Transpose', [op('Reshape', [v, toHeadsKv])], { perm: bnsh });
      nodes.push({ op: 'Concat', inputs: [pastK, kh], outputs: [presK], attrs: { axis: 2 } });
      nodes.push({ op: 'Concat', inputs: [pastV, vh], outputs: [presV], attrs: { axis: 2 } });
      // Query head h reads kv head h / G: [B, NQ, S, D] as [B, NKV, G·S, D] puts each kv head's G query heads in
      // its rows, so one batched MatMul per kv head needs no copy of K or V.
      const qs = op('Mul', [qh, init(`${p}.scale`, { dims: [], data: [1 / Math.sqrt(D)] })]);
      const qg = op('Reshape', [qs, shape(`${p}.shape_qg`, [0, NKV, -1, D])]);
      const scores = op('MatMul', [qg, op('Transpose', [presK], { perm: [0, 1, 3, 2] })]); // [B, NKV, G·S, T]
      const s4 = op('Add', [op('Reshape', [scores, shape(`${p}.shape_s4`, [0, NQ, -1, 0])]), mask]);
      const probs = op('Reshape', [op('Softmax', [s4], { axis: -1 }), shape(`${p}.shape_pg`, [0, NKV, -1, 0])]);
      const o = op('Reshape', [op('MatMul', [probs, presV]), shape(`${p}.shape_o`, [0, NQ, -1, D])]);
      attn = op('Reshape', [op('Transpose', [o], { perm: bnsh }), shape(`${p}.shape_out`, [0, 0, NQ * D])]);
    }
    x = op('Add', [x, linear(attn, `${p}.self_attn.o_proj`, H, NQ * D, false)]);
    const h2 = rmsnorm(x, `${p}.post_attention_layernorm.weight`);
    const g = linear(h2, `${p}.mlp.gate_proj`, I, H, false);
    const u = linear(h2, `${p}.mlp.up_proj`, I, H, false);
    const act = op('Mul', [op('Mul', [g, op('Sigmoid', [g])]), u]);
    x = op('Add', [x, linear(act, `${p}.mlp.down_proj`, H, I, false)]);
  }
  const xn = rmsnorm(x, 'norm.weight');
  const head = c.tie_word_embeddings ? 'embed_tokens' : 'lm_head';
  const logits = linear(xn, head, V, H, false);
  nodes.push({ op: 'Identity', inputs: [logits], outputs: ['logits'] });

  const kvDims = ['batch_size', NKV, 'past_sequence_length', D];
  const presentDims = ['batch_size', NKV, 'total_sequence_length', D];
  return buildModel({
    name: 'qwen2_int4',
    inputs: [
      { name: 'input_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] },
      { name: 'attention_mask', type: 'int64', dims: ['batch_size', 'total_sequence_length'] },
      { name: 'position_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] },
      ...pastInputs.map((name) => ({ name, type: 'float32' as const, dims: kvDims })),
    ],
    outputs: [
      { name: 'logits', type: 'float32', dims: ['batch_size', 'sequence_length', V] },
      ...presentOutputs.map((name) => ({ name, type: 'float32' as const, dims: presentDims })),
    ],
    nodes,
    initializers: g.inits,
    opset: 17,
    domains: { [MS]: 1 },
  });
}

/**
 * cos and sin of position · inv_freq (the angle rounded to f32, as PyTorch and our rope kernel) for positions
 * 0 … P − 1, each row the D / 2 frequencies `copies` times over (2: the [f | f] layout rotate-half multiplies by).
 */
export function ropeTables(P: number, invFreq: Float32Array, copies: 1 | 2): [Float32Array, Float32Array] {
  const half = invFreq.length;
  const w = half * copies;
  const cos = new Float32Array(P * w);
  const sin = new Float32Array(P * w);
  for (let p = 0; p < P; p++)
    for (let i = 0; i < w; i++) {
      const a = Math.fround(p * invFreq[i % half]!);
      cos[p * w + i] = Math.cos(a);
      sin[p * w + i] = Math.sin(a);
    }
  return [cos, sin];
}

/** The config.json transformers.js reads for this graph (Qwen2ForCausalLM). */
export function qwen2HfConfig(c: Qwen2OnnxConfig): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    head_dim: c.head_dim,
    hidden_act: 'silu',
    max_position_embeddings: c.max_position_embeddings,
    rope_theta: c.rope_theta,
    rms_norm_eps: c.rms_norm_eps,
    tie_word_embeddings: c.tie_word_embeddings,
    use_sliding_window: false,
    torch_dtype: 'float32',
  };
}
