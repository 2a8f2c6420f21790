/**
 * @file Decoding a latent in overlapping tiles when the whole image would not fit (issue #20): the largest tensor the
 * VAE decoder makes at a latent size, the tile size that keeps it under a limit, and the tiled decode itself. Each
 * tile goes through the same decoder; in the overlaps the tiles are blended with linear ramps. The decoder's group
 * norms and mid-block attention see one tile at a time, so a tiled image is close to, not equal to, the whole one.
 */
import type { VaeConfig } from '../../packs/manifest';

/** Decodes latents [C, th, tw] (already z / scale + shift) to an image [3, th·d, tw·d]. */
export type DecodeTile = (z: Float32Array, th: number, tw: number) => Promise<Float32Array>;

/**
 * The largest f32 tensor the decoder makes for a latent h × w: the mid-block attention's (h·w)² scores, or an
 * activation of the up blocks (block_channels reversed; each but the last ends with a nearest ×2 before its conv).
 */
export function vaeDecodeBytes(c: VaeConfig, h: number, w: number): number {
  const R = [...c.block_channels].reverse();
  let most = (h * w) ** 2 * 4;
  R.forEach((ch, i) => {
    const s = 2 ** (i + (i < R.length - 1 ? 1 : 0));
    most = Math.max(most, ch * h * s * w * s * 4);
  });
  return most;
}

/** The side of the largest square tile (latent units) whose decode stays within `limit` bytes; ≥ 1. */
export function vaeTileSide(c: VaeConfig, h: number, w: number, limit: number): number {
  let t = Math.max(h, w);
  while (t > 1 && vaeDecodeBytes(c, Math.min(t, h), Math.min(t, w)) > limit) t = Math.ceil(t / 2);
  return t;
}

/** Tile starts along an axis of n: every tile `tile` long (the last one flush with the end), neighbours overlapping
 * by at least `overlap`. */
export function tileStarts(n: number, tile: number, overlap: number): number[] {
  if (n <= tile) return [0];
  const stride = Math.max(1, tile - overlap);
  const out: number[] = [];
  for (let s = 0; s + tile < n; s += stride) out.push(s);
  out.push(n - tile);
  return out;
}

/** A tile's weight along one axis at pixel p of [a, b): rising over `ramp` pixels from an inner edge, else 1. */
function axisWeight(p: number, a: number, b: number, n: number, ramp: number): number {
  let v = 1;
  if (a > 0) v = Math.min(v, (p - a + 0.5) / ramp);
  if (b < n) v = Math.min(v, (b - p - 0.5) / ramp);
  return v;
}

/**
 * Decodes latents z [C, h, w] in tiles of `tile` × `tile` overlapping by `overlap` (latent units), blending the
 * decoded tiles in the overlaps; returns [3, h·d, w·d]. With one tile it is `decode(z)` itself.
 */
export async function decodeTiled(
  decode: DecodeTile,
  z: Float32Array,
  C: number,
  h: number,
  w: number,
  d: number,
  tile: number,
  overlap: number,
): Promise<Float32Array> {
  const ys = tileStarts(h, tile, overlap);
  const xs = tileStarts(w, tile, overlap);
  if (ys.length === 1 && xs.length === 1) return decode(z, h, w);
  const th = Math.min(tile, h);
  const tw = Math.min(tile, w);
  const H = h * d;
  const W = w * d;
  const acc = new Float64Array(3 * H * W);
  const sum = new Float64Array(H * W);
  const ramp = Math.max(1, overlap * d);
  for (const y0 of ys)
    for (const x0 of xs) {
      const sub = new Float32Array(C * th * tw);
      for (let c = 0; c < C; c++)
        for (let y = 0; y < th; y++) {
          const from = (c * h + y0 + y) * w + x0;
          sub.set(z.subarray(from, from + tw), (c * th + y) * tw);
        }
      const img = await decode(sub, th, tw);
      const TH = th * d;
      const TW = tw * d;
      for (let y = 0; y < TH; y++) {
        const Y = y0 * d + y;
        const wy = axisWeight(Y, y0 * d, y0 * d + TH, H, ramp);
        for (let x = 0; x < TW; x++) {
          const X = x0 * d + x;
          const wt = wy * axisWeight(X, x0 * d, x0 * d + TW, W, ramp);
          sum[Y * W + X] += wt;
          for (let c = 0; c < 3; c++) acc[(c * H + Y) * W + X] += wt * img[(c * TH + y) * TW + x]!;
        }
      }
    }
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) out[c * H * W + i] = acc[c * H * W + i]! / sum[i]!;
  return out;
}
