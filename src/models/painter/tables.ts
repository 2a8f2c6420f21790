/**
 * @file CPU-side constant tables of the painter, computed once per request and uploaded once: RoPE cos/sin, the 2D
 * sin-cos position embedding, the sinusoidal timestep features of every step, and the σ schedule. They depend only
 * on config, size and step count (never on activations), so computing them in float64 and rounding like PyTorch's
 * f32 ops (`Math.fround` after each f32 op of tools/rgvlm/model.py) is both exact enough and free.
 */
import type { PainterConfig } from '../../packs/manifest';

const f = Math.fround;

/** inv_freq_j = 1 / θ^(2j/d) in f32, as tools/rgvlm/model.py `rope_cos_sin`. */
function ropeInvFreq(headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let j = 0; j < half; j++) out[j] = f(1 / f(Math.pow(theta, f((2 * j) / headDim))));
  return out;
}

/**
 * RoPE table for positions 0 … positions−1: [positions, headDim / 2, 2] holding (cos, sin) of
 * angle = f32(position · inv_freq_j) (half-split layout, docs/formats.md).
 */
export function ropeTable(positions: number, headDim: number, theta: number): Float32Array {
  const inv = ropeInvFreq(headDim, theta);
  const half = headDim / 2;
  const out = new Float32Array(positions * half * 2);
  for (let p = 0; p < positions; p++)
    for (let j = 0; j < half; j++) {
      const a = f(p * inv[j]!);
      out[(p * half + j) * 2] = Math.cos(a);
      out[(p * half + j) * 2 + 1] = Math.sin(a);
    }
  return out;
}

/** sincos_1d of tools/rgvlm/model.py: [n, dim]: [sin(pos·ω_k), cos(pos·ω_k)], ω_k = base^(−k/(dim/2)). */
function sincos1d(pos: Float32Array, dim: number, base: number): Float32Array {
  const half = dim / 2;
  const omega = new Float32Array(half);
  for (let k = 0; k < half; k++) omega[k] = f(1 / f(Math.pow(base, f(k / half))));
  const out = new Float32Array(pos.length * dim);
  for (let i = 0; i < pos.length; i++)
    for (let k = 0; k < half; k++) {
      const a = f(pos[i]! * omega[k]!);
      out[i * dim + k] = Math.sin(a);
      out[i * dim + half + k] = Math.cos(a);
    }
  return out;
}

/** The 2D sin-cos position embedding [gh·gw, hidden] (token r·gw + col; column half first, docs/formats.md). */
export function posEmbed2d(gh: number, gw: number, c: PainterConfig): Float32Array {
  const D = c.hidden_size;
  const M = c.pos_embed_max_size;
  const top = M > 0 ? Math.floor((M - gh) / 2) : 0;
  const left = M > 0 ? Math.floor((M - gw) / 2) : 0;
  const rows = Float32Array.from({ length: gh }, (_, r) => f(f(r + top) * c.pos_embed_scale));
  const cols = Float32Array.from({ length: gw }, (_, k) => f(f(k + left) * c.pos_embed_scale));
  const er = sincos1d(rows, D / 2, c.pos_embed_base);
  const ec = sincos1d(cols, D / 2, c.pos_embed_base);
  const out = new Float32Array(gh * gw * D);
  for (let r = 0; r < gh; r++)
    for (let k = 0; k < gw; k++) {
      const o = (r * gw + k) * D;
      out.set(ec.subarray(k * (D / 2), (k + 1) * (D / 2)), o);
      out.set(er.subarray(r * (D / 2), (r + 1) * (D / 2)), o + D / 2);
    }
  return out;
}

/**
 * Timestep features [ts.length, timestep_freq_dim]: [cos(t'·f_0..), sin(t'·f_0..)], t' = f32(t · timestep_scale),
 * f_k = exp(−ln(max_period) · k / half) (DiT / OmniGen order).
 */
export function timestepFeatures(ts: ArrayLike<number>, c: PainterConfig): Float32Array {
  const dim = c.timestep_freq_dim;
  const half = dim / 2;
  const freqs = new Float32Array(half);
  const nl = -Math.log(c.timestep_max_period);
  for (let k = 0; k < half; k++) freqs[k] = f(Math.exp(f(f(f(nl) * k) / half)));
  const out = new Float32Array(ts.length * dim);
  for (let i = 0; i < ts.length; i++) {
    const t = f(f(ts[i]!) * c.timestep_scale);
    for (let k = 0; k < half; k++) {
      const a = f(t * freqs[k]!);
      out[i * dim + k] = Math.cos(a);
      out[i * dim + half + k] = Math.sin(a);
    }
  }
  return out;
}

/** σ_i = t0 + (1 − t0) · i / N in float64, rounded to f32 (docs/formats.md "Sampler"). */
export function sigmas(t0: number, steps: number): Float32Array {
  return Float32Array.from({ length: steps + 1 }, (_, i) => t0 + ((1 - t0) * i) / steps);
}
