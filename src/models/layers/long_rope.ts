/**
 * @file Phi-3's LongRoPE (`rope_scaling` of the connector and painter configs; docs/formats.md "Painter"): which
 * factor set each sequence uses and the cos/sin scale, in the form the decoder layer hands to the rope kernel.
 * As MindOmni's Phi-3 code: a sequence whose largest position + 1 passes `original_max_position_embeddings` uses
 * `long_factor`, otherwise `short_factor`; every layer of a run uses that choice (the painter's cached condition
 * keys too), and each CFG branch chooses for itself, as MindOmni runs the branches separately.
 */
import { RgError } from '../../errors';
import type { ConnectorConfig } from '../../packs/manifest';

type RopeFields = Pick<
  ConnectorConfig,
  'rope_scaling' | 'original_max_position_embeddings' | 'max_position_embeddings'
> & {
  head_dim: number;
};

/** The rope kernel's LongRoPE arguments: one factor set per sequence, and the cos/sin scale. */
export interface LongRope {
  factors: Float32Array[];
  scale: number;
}

/** √(1 + ln(max / original) / ln(original)), or 1 when max ≤ original (Phi-3's scaling_factor). */
export function longRopeScale(max: number, original: number): number {
  const ratio = max / original;
  return ratio <= 1 ? 1 : Math.sqrt(1 + Math.log(ratio) / Math.log(original));
}

/**
 * LongRoPE for sequences of `lengths[b]` positions (0 … lengths[b] − 1) each; undefined for plain RoPE (no
 * `rope_scaling`), so callers pass nothing and run exactly as before.
 */
export function longRope(c: RopeFields, lengths: readonly number[]): LongRope | undefined {
  const r = c.rope_scaling;
  if (!r) return undefined;
  const original = c.original_max_position_embeddings;
  const max = c.max_position_embeddings;
  // The manifest schema already refuses these; a config built in code gets the same message.
  if (original === undefined || max === undefined)
    throw new RgError('INTERNAL', 'LongRoPE needs original_max_position_embeddings and max_position_embeddings');
  for (const k of ['short_factor', 'long_factor'] as const) {
    if (r[k].length !== c.head_dim / 2 || !r[k].every((v) => v > 0 && Number.isFinite(v)))
      throw new RgError('INTERNAL', `rope_scaling.${k}: ${c.head_dim / 2} positive numbers are needed`);
  }
  const short = Float32Array.from(r.short_factor);
  const long = Float32Array.from(r.long_factor);
  return { factors: lengths.map((n) => (n > original ? long : short)), scale: longRopeScale(max, original) };
}
