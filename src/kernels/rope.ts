/**
 * @file rope: rotary position embedding in place on Q or K (half-split pairs (i, i + D/2), rotary dim = head dim),
 * with position ids from a GPU buffer, and optionally Phi-3's LongRoPE (per-frequency factors, scaled cos/sin).
 * Mirrors tools/rgvlm/model.py `rope_cos_sin` + `apply_rope`.
 */
import type { GpuBatch } from '../gpu/batch';
import trig from '../../shaders/trig.wgsl?raw';
import body from '../../shaders/rope.wgsl?raw';
import { flatGroups, need, needBytes, needCount } from './dispatch';

const code = `${trig}\n${body}`;

export interface RopeArgs {
  /** f32 [tokens, rowStride]; head h of token s is the headDim floats at s·rowStride + headOffset + h·headDim. */
  x: GPUBuffer;
  /** u32 [tokens]: the position id of each token. */
  pos: GPUBuffer;
  tokens: number;
  heads: number;
  headDim: number;
  /** Config `rope_theta`. */
  theta: number;
  /** Floats per token row. Default heads · headDim ([tokens, heads, headDim]). */
  rowStride?: number;
  /** First float of the first rotated head in each row. Default 0. */
  headOffset?: number;
  /**
   * LongRoPE's per-frequency divisors of inv_freq (Phi-3 `rope_scaling`): one set of headDim / 2 for all tokens, or
   * one set per run of tokens / sets consecutive tokens (one per sequence, so CFG branches may differ). Default none.
   */
  factors?: readonly ArrayLike<number>[];
  /** Multiplies cos and sin (LongRoPE's attention scaling). Default 1. */
  scale?: number;
}

/**
 * inv_freq[i] = 1 / θ^(2i / D) in PyTorch's f32 steps: fround(2i / D), f32 power, f32 reciprocal; with `factors`,
 * 1 / (factor_i · θ^(2i / D)), the product rounded to f32 first (Phi-3's LongRoPE).
 */
export function ropeInvFreq(headDim: number, theta: number, factors?: ArrayLike<number>): Float32Array<ArrayBuffer> {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const p = Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim)));
    out[i] = 1 / (factors ? Math.fround(Math.fround(factors[i]!) * p) : p);
  }
  return out;
}

/** Encodes rope into `batch`. */
export function rope(batch: GpuBatch, args: RopeArgs): void {
  const { tokens, heads, headDim } = args;
  const rowStride = args.rowStride ?? heads * headDim;
  const headOffset = args.headOffset ?? 0;
  needCount('rope', 'tokens', tokens);
  needCount('rope', 'heads', heads);
  needCount('rope', 'headDim', headDim);
  needCount('rope', 'headOffset', headOffset, true);
  need('rope', headDim % 2 === 0, `headDim must be even, got ${headDim}`);
  need('rope', args.theta > 0 && Number.isFinite(args.theta), `theta must be a positive number, got ${args.theta}`);
  need(
    'rope',
    Number.isInteger(rowStride) && headOffset + heads * headDim <= rowStride,
    `heads ${heads} x headDim ${headDim} from offset ${headOffset} do not fit in rowStride ${rowStride}`,
  );
  needBytes('rope', 'x', args.x, ((tokens - 1) * rowStride + headOffset + heads * headDim) * 4);
  needBytes('rope', 'pos', args.pos, tokens * 4);
  const half = headDim / 2;
  const scale = args.scale ?? 1;
  need('rope', scale > 0 && Number.isFinite(scale), `scale must be a positive number, got ${scale}`);
  const sets = args.factors ?? [undefined];
  need(
    'rope',
    sets.length >= 1 && tokens % sets.length === 0,
    `${sets.length} factor sets do not divide ${tokens} tokens`,
  );
  sets.forEach((f, k) => {
    if (!f) return;
    need('rope', f.length === half, `factors[${k}] holds ${f.length} values but headDim / 2 = ${half} are needed`);
    for (let i = 0; i < half; i++)
      need('rope', f[i]! > 0 && Number.isFinite(f[i]), `factors[${k}][${i}] must be a positive number, got ${f[i]}`);
  });
  const invFreq = batch.scratch(sets.length * half * 4, 'rope inv_freq');
  const table = new Float32Array(sets.length * half);
  sets.forEach((f, k) => table.set(ropeInvFreq(headDim, args.theta, f), k * half));
  batch.device.queue.writeBuffer(invFreq, 0, table);
  const total = tokens * heads * half;
  const { groups, stride } = flatGroups(total, 256);
  const u = new Uint32Array(9);
  u.set([total, stride, heads, half, headDim, rowStride, headOffset, tokens / sets.length]);
  new Float32Array(u.buffer, 8 * 4, 1)[0] = scale;
  batch.dispatch(batch.pipeline('rope', code), [args.x, args.pos, invFreq, batch.uniform(u)], groups);
}
