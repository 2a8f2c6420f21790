/**
 * @file CPU-side constant tables of the painter, computed once per request and uploaded once: the 2D sin-cos
 * position embedding, the sinusoidal timestep features of every step, and the σ schedule. They depend only on
 * config, size and step count (never on activations), so the kernels' CPU twins compute them (rounding like
 * PyTorch's f32 ops) and the GPU kernels `sincos2d` and `timestep` are not needed on this path.
 */
import type { PainterConfig } from '../../packs/manifest';
import { sincos2dRef } from '../../kernels/sincos2d.ref';
import { timestepRef } from '../../kernels/timestep.ref';

export { sigmas } from '../../kernels/denoise';

/** The 2D sin-cos position embedding [gh·gw, hidden] (token r·gw + col; column half first, docs/formats.md). */
export function posEmbed2d(gh: number, gw: number, c: PainterConfig): Float32Array {
  return sincos2dRef({ gh, gw, dim: c.hidden_size, base: c.pos_embed_base, scale: c.pos_embed_scale, maxSize: c.pos_embed_max_size });
}

/** Timestep features [ts.length, timestep_freq_dim] of t · timestep_scale, [cos, sin] order (DiT / OmniGen). */
export function timestepFeatures(ts: ArrayLike<number>, c: PainterConfig): Float32Array {
  return timestepRef(Float32Array.from(ts), { dim: c.timestep_freq_dim, scale: c.timestep_scale, maxPeriod: c.timestep_max_period });
}
