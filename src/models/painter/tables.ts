/**
 * @file CPU-side constant tables of the painter, computed once per request and uploaded once: the 2D sin-cos
 * position embedding (tools/rgvlm/model.py `sincos_2d`), the sinusoidal timestep features of every step
 * (`timestep_embedding` of t · scale), and the σ schedule. They depend only on config, size and step count (never
 * on activations), so they are computed here, arguments rounded to f32 as PyTorch computes them and sin/cos in
 * float64, rather than on the GPU. The GPU versions (tests/gpu/kernels/support/sincos2d.ts, timestep.ts) are kept
 * only as tests of the shared WGSL trig against these tables and the PyTorch fixtures.
 */
import type { PainterConfig } from '../../packs/manifest';

export { sigmas } from '../../kernels/denoise';

/** The 2D sin-cos position embedding [gh·gw, hidden] (token r·gw + col; column half first, docs/formats.md). */
export function posEmbed2d(gh: number, gw: number, c: PainterConfig): Float32Array {
  const { hidden_size: dim, pos_embed_base: base, pos_embed_scale: scale, pos_embed_max_size: maxSize } = c;
  return sincos2dTable({ gh, gw, dim, base, scale, maxSize });
}

/** Timestep features [ts.length, timestep_freq_dim] of t · timestep_scale, [cos, sin] order (DiT / OmniGen). */
export function timestepFeatures(ts: ArrayLike<number>, c: PainterConfig): Float32Array {
  const args = { dim: c.timestep_freq_dim, scale: c.timestep_scale, maxPeriod: c.timestep_max_period };
  return timestepTable(Float32Array.from(ts), args);
}

export interface Sincos2dTableArgs {
  /** Grid rows (latent height / patch size). */
  gh: number;
  /** Grid columns (latent width / patch size). */
  gw: number;
  /** Embedding width (painter `hidden_size`), a multiple of 4. */
  dim: number;
  /** Painter config `pos_embed_base`. Default 10000. */
  base?: number;
  /** Painter config `pos_embed_scale`. Default 1. */
  scale?: number;
  /** Painter config `pos_embed_max_size`; when > 0 the grid is centred in it. Default 0. */
  maxSize?: number;
}

/** [gh·gw, dim]: per token r·gw + c, [sin(col·ω), cos(col·ω), sin(row·ω), cos(row·ω)], each dim/4 wide. */
export function sincos2dTable(args: Sincos2dTableArgs): Float32Array {
  const { gh, gw, dim } = args;
  const base = args.base ?? 10000;
  const scale = Math.fround(args.scale ?? 1);
  const max = args.maxSize ?? 0;
  const top = max > 0 ? Math.floor((max - gh) / 2) : 0;
  const left = max > 0 ? Math.floor((max - gw) / 2) : 0;
  const q = dim / 4;
  const f = Math.fround;
  const omega = Array.from({ length: q }, (_, k) => f(1 / f(base ** f(k / q))));
  const out = new Float32Array(gh * gw * dim);
  for (let r = 0; r < gh; r++) {
    for (let c = 0; c < gw; c++) {
      const o = (r * gw + c) * dim;
      const coords = [f(f(c + left) * scale), f(f(r + top) * scale)];
      coords.forEach((coord, half) => {
        for (let k = 0; k < q; k++) {
          const a = f(coord * omega[k]!);
          out[o + half * 2 * q + k] = Math.sin(a);
          out[o + half * 2 * q + q + k] = Math.cos(a);
        }
      });
    }
  }
  return out;
}

export interface TimestepArgs {
  dim: number;
  scale: number;
  maxPeriod: number;
}

/** [t.length, dim]: [cos(t·scale·freq_k) for k < dim/2, sin(t·scale·freq_k) for k < dim/2]. */
export function timestepTable(t: Float32Array, args: TimestepArgs): Float32Array {
  const f = Math.fround;
  const half = args.dim / 2;
  const c = f(-Math.log(args.maxPeriod));
  const out = new Float32Array(t.length * args.dim);
  for (let b = 0; b < t.length; b++) {
    const ts = f(t[b]! * f(args.scale));
    for (let k = 0; k < half; k++) {
      const a = f(ts * f(Math.exp(f(f(c * k) / half))));
      out[b * args.dim + k] = Math.cos(a);
      out[b * args.dim + half + k] = Math.sin(a);
    }
  }
  return out;
}
