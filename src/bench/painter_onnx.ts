/**
 * @file One denoising step of the OmniGen-style DiT (docs/formats.md "Connector + painter", without the connector)
 * as an ONNX graph built in code, for one CFG branch and fixed sizes: inputs `condition` f32 [1, Lc, D] (already
 * in the painter's width), `latents` f32 [1, C, h, w], `timestep_features` f32 [1, timestep_freq_dim] (the
 * sinusoidal features, src/models/painter/tables.ts); output `velocity` f32 [1, C, h, w]. The whole sequence
 * [condition][time token][patches] is recomputed, as an exported painter runs a step.
 *
 * The four layer projections are com.microsoft MatMulNBits on the int4 bytes as stored (our layout is its layout,
 * see src/bench/qwen2_onnx.ts), or MatMul on the f32 weights; every other matrix a MatMul. RMSNorm is
 * SimplifiedLayerNormalization, RoPE is written out from cos/sin tables of positions 0 … S − 1, the mask (condition
 * and time token causal, patches see everything) an additive [1, 1, S, S] table. Attention is com.microsoft
 * MatMul / Softmax / MatMul, the heads in groups whose f32 scores fit `maxScoreBytes` (64 MiB, under the default
 * 128 MiB binding limit). (com.microsoft MultiHeadAttention with the mask as its [1, 1, S, S] attention_bias was
 * tried: on onnxruntime-web 1.30's WebGPU EP its velocity differed from ours by 31% of the largest value at the
 * tests' small shape, where these plain ops agree to 5e-7, so it is not used.)
 */
import { RgError } from '../errors';
import type { LinearWeightData } from '../kernels/matmul.ref';
import { ropeInvFreq } from '../kernels/rope';
import type { TensorGetter } from '../models/reasoner/random_pack';
import { isLayerProjection } from '../models/painter/random_pack';
import { posEmbed2d } from '../models/painter/tables';
import type { PainterConfig } from '../packs/manifest';
import { buildModel, GraphBuilder } from '../runtime/onnx_graph';
import { ropeTables } from './qwen2_onnx';

export interface PainterStepShape {
  /** Condition rows. */
  Lc: number;
  /** Latent height and width (a multiple of the patch). */
  h: number;
  w: number;
}

const MS = 'com.microsoft';

/** Builds the graph of one step of `pc` at `shape` on the tensors of `tensor` and serialises it. */
export function buildPainterStepOnnx(
  pc: PainterConfig,
  tensor: TensorGetter,
  shape: PainterStepShape,
  opts: { maxScoreBytes?: number } = {},
): Uint8Array {
  const D = pc.hidden_size;
  const H = pc.num_attention_heads;
  const KV = pc.num_key_value_heads;
  const d = pc.head_dim;
  const I = pc.intermediate_size;
  const C = pc.latent_channels;
  const p = pc.patch_size;
  const { Lc, h, w } = shape;
  if (KV !== H)
    throw new RgError('BAD_INPUT', `buildPainterStepOnnx: ${KV} kv heads for ${H} heads; this graph has no GQA`, {
      field: 'num_key_value_heads',
    });
  if (!(Number.isInteger(Lc) && Lc >= 1))
    throw new RgError('BAD_INPUT', `buildPainterStepOnnx: Lc must be a whole number ≥ 1, got ${Lc}`, { field: 'Lc' });
  if (!(h > 0 && w > 0 && h % p === 0 && w % p === 0))
    throw new RgError('BAD_INPUT', `buildPainterStepOnnx: latent ${h}×${w} is not a multiple of the patch ${p}`, {
      field: 'h',
    });
  const gh = h / p;
  const gw = w / p;
  const N = gh * gw;
  const S = Lc + 1 + N;
  const F = C * p * p;

  const g = new GraphBuilder();
  const { nodes, op, multi, init, i64, scalar } = g;

  const vector = (name: string, len: number): Float32Array => {
    const t = tensor(name);
    if (!(t instanceof Float32Array) || t.length !== len)
      throw new RgError('BAD_INPUT', `buildPainterStepOnnx: tensor ${name} must be a Float32Array of ${len}`, {
        field: name,
      });
    return t;
  };
  const matrix = (name: string, out: number, inn: number): LinearWeightData => {
    const t = tensor(name);
    if (t instanceof Float32Array || t.out !== out || t.in !== inn)
      throw new RgError('BAD_INPUT', `buildPainterStepOnnx: tensor ${name} must be a [${out}, ${inn}] matrix`, {
        field: name,
      });
    if (t.format !== 'int4' && t.format !== 'f32')
      throw new RgError('BAD_INPUT', `buildPainterStepOnnx: tensor ${name} is ${t.format}; int4 or f32 expected`, {
        field: name,
        hint: 'Give the layer projections as int4 block-32 or f32 and every other matrix as f32.',
      });
    if (t.format === 'int4' && !isLayerProjection(name))
      throw new RgError('BAD_INPUT', `buildPainterStepOnnx: tensor ${name} is int4; only layer projections may be`, {
        field: name,
      });
    return t;
  };
  /** x · Wᵀ (+ b): MatMulNBits on int4 bytes, else MatMul on Wᵀ. */
  const linear = (x: string, prefix: string, out: number, inn: number, bias: boolean): string => {
    const t = matrix(`${prefix}.weight`, out, inn);
    let y: string;
    if (t.format === 'int4') {
      const q = init(`${prefix}.q4`, { dims: [out, inn / 32, 16], type: 'uint8', data: t.weightQ4 });
      const s = init(`${prefix}.scales`, { dims: [(out * inn) / 32], data: t.weightScale });
      y = op('MatMulNBits', [x, q, s], { K: inn, N: out, bits: 4, block_size: 32 }, MS);
    } else if (t.format === 'f32') {
      const wt = new Float32Array(inn * out);
      for (let o = 0; o < out; o++) for (let k = 0; k < inn; k++) wt[k * out + o] = t.weight[o * inn + k]!;
      y = op('MatMul', [x, init(`${prefix}.weight_t`, { dims: [inn, out], data: wt })]);
    } else throw new RgError('INTERNAL', 'unreachable');
    return bias ? op('Add', [y, init(`${prefix}.bias`, { dims: [out], data: vector(`${prefix}.bias`, out) })]) : y;
  };
  const rmsnorm = (x: string, name: string): string =>
    op('SimplifiedLayerNormalization', [x, init(name, { dims: [D], data: vector(name, D) })], {
      axis: -1,
      epsilon: { f: pc.rms_norm_eps },
      stash_type: 1,
    });
  const silu = (x: string) => op('Mul', [x, op('Sigmoid', [x])]);
  const embedder = (e: string) =>
    linear(
      silu(linear('timestep_features', `painter.${e}.mlp.0`, D, pc.timestep_freq_dim, true)),
      `painter.${e}.mlp.2`,
      D,
      D,
      true,
    );

  // The sequence: [condition][time token][patches + pos2d].
  const timeToken = op('Unsqueeze', [embedder('time_token'), i64('axis_1', [1])]); // [1, 1, D]
  const grid = op('Reshape', ['latents', i64('shape_grid', [1, C, gh, p, gw, p])]);
  const patches = op('Reshape', [
    op('Transpose', [grid], { perm: [0, 2, 4, 1, 3, 5] }),
    i64('shape_patches', [1, N, F]),
  ]);
  const pos = init('pos2d', { dims: [N, D], data: posEmbed2d(gh, gw, pc) });
  const xEmb = op('Add', [linear(patches, 'painter.x_embedder', D, F, true), pos]);
  let x = op('Concat', ['condition', timeToken, xEmb], { axis: 1 }); // [1, S, D]

  // RoPE tables [S, 1, d] and the additive mask [1, 1, S, S].
  const [cosT, sinT] = ropeTables(S, ropeInvFreq(d, pc.rope_theta), 2);
  const cos = init('rope_cos', { dims: [S, 1, d], data: cosT });
  const sin = init('rope_sin', { dims: [S, 1, d], data: sinT });
  const maskT = new Float32Array(S * S);
  for (let i = 0; i <= Lc; i++) for (let j = i + 1; j < S; j++) maskT[i * S + j] = -1e9;
  const mask = init('mask', { dims: [1, 1, S, S], data: maskT });
  const half = i64('split_half', [d / 2, d / 2]);
  const rope = (t: string): string => {
    const [lo, hi] = multi('Split', [t, half], 2, { axis: -1 });
    const rot = op('Concat', [op('Neg', [hi!]), lo!], { axis: -1 });
    return op('Add', [op('Mul', [t, cos]), op('Mul', [rot, sin])]);
  };
  const toHeads = i64('shape_heads', [1, S, H, d]);
  const toRows = i64('shape_rows', [1, S, H * d]);
  const splitQkv = i64('split_qkv', [H * d, KV * d, KV * d]);
  const splitGateUp = i64('split_gate_up', [I, I]);
  const scale = scalar('attn_scale', 1 / Math.sqrt(d));
  // The fewest head groups (a divisor of H) whose f32 scores fit maxScoreBytes.
  const maxScoreBytes = opts.maxScoreBytes ?? 64 * 2 ** 20;
  let groups = 1;
  while (groups < H && (H % groups !== 0 || (H / groups) * S * S * 4 > maxScoreBytes)) groups++;
  const splitHeads = i64('split_heads', Array<number>(groups).fill(H / groups));

  for (let l = 0; l < pc.num_hidden_layers; l++) {
    const pre = `painter.layers.${l}`;
    const hn = rmsnorm(x, `${pre}.input_layernorm.weight`);
    const qkv = linear(hn, `${pre}.self_attn.qkv_proj`, (H + 2 * KV) * d, D, false);
    const [q, k, v] = multi('Split', [qkv, splitQkv], 3, { axis: -1 });
    const qh = rope(op('Reshape', [q!, toHeads])); // [1, S, H, d]
    const kh = rope(op('Reshape', [k!, toHeads]));
    // [1, H, S, d] per operand; the heads in groups whose scores [1, g, S, S] stay under maxScoreBytes.
    const bhsd = [0, 2, 1, 3];
    const qt = op('Mul', [op('Transpose', [qh], { perm: bhsd }), scale]);
    const kt = op('Transpose', [kh], { perm: [0, 2, 3, 1] }); // [1, H, d, S]
    const vt = op('Transpose', [op('Reshape', [v!, toHeads])], { perm: bhsd });
    const one = (q: string, k: string, v: string) =>
      op('MatMul', [op('Softmax', [op('Add', [op('MatMul', [q, k]), mask])], { axis: -1 }), v]);
    let o: string;
    if (groups === 1) o = one(qt, kt, vt);
    else {
      const [qs, ks, vs] = [qt, kt, vt].map((t) => multi('Split', [t, splitHeads], groups, { axis: 1 }));
      o = op(
        'Concat',
        qs!.map((q, g) => one(q, ks![g]!, vs![g]!)),
        { axis: 1 },
      );
    }
    const attn = op('Reshape', [op('Transpose', [o], { perm: bhsd }), toRows]);
    x = op('Add', [x, linear(attn, `${pre}.self_attn.o_proj`, D, H * d, false)]);
    const h2 = rmsnorm(x, `${pre}.post_attention_layernorm.weight`);
    const [g, u] = multi('Split', [linear(h2, `${pre}.mlp.gate_up_proj`, 2 * I, D, false), splitGateUp], 2, {
      axis: -1,
    });
    x = op('Add', [x, linear(op('Mul', [silu(g!), u!]), `${pre}.mlp.down_proj`, D, I, false)]);
  }

  // Final layer over the patch rows: LN(x) · (1 + scale) + shift, [shift | scale] = adaLN(silu(temb)).
  const normed = rmsnorm(x, 'painter.norm.weight');
  const lat = op('Slice', [normed, i64('slice_from', [Lc + 1]), i64('slice_to', [S]), i64('slice_axis', [1])]);
  const ones = init('ln_scale', { dims: [D], data: new Float32Array(D).fill(1) });
  const zeros = init('ln_bias', { dims: [D], data: new Float32Array(D) });
  const ln = op('LayerNormalization', [lat, ones, zeros], { axis: -1, epsilon: { f: pc.final_norm_eps } });
  const mod = linear(silu(embedder('t_embedder')), 'painter.final_layer.adaLN_modulation', 2 * D, D, true);
  const [shift, sc] = multi('Split', [mod, i64('split_mod', [D, D])], 2, { axis: -1 });
  const y = op('Add', [op('Mul', [ln, op('Add', [sc!, scalar('one_f', 1)])]), shift!]);
  const out = linear(y, 'painter.final_layer.linear', F, D, true); // [1, N, F]
  const tiles = op('Reshape', [out, i64('shape_tiles', [1, gh, gw, C, p, p])]);
  const vel = op('Transpose', [tiles], { perm: [0, 3, 1, 4, 2, 5] });
  nodes.push({ op: 'Reshape', inputs: [vel, i64('shape_velocity', [1, C, h, w])], outputs: ['velocity'] });

  return buildModel({
    name: 'painter_step',
    inputs: [
      { name: 'condition', type: 'float32', dims: [1, Lc, D] },
      { name: 'latents', type: 'float32', dims: [1, C, h, w] },
      { name: 'timestep_features', type: 'float32', dims: [1, pc.timestep_freq_dim] },
    ],
    outputs: [{ name: 'velocity', type: 'float32', dims: [1, C, h, w] }],
    nodes,
    initializers: g.inits,
    opset: 17,
    domains: { [MS]: 1 },
  });
}
