/** @file CPU twin of unpatchify (tools/rgvlm/model.py `unpatchify`), as plain loops in output order. */
import type { PatchShape } from './patchify';

/** tokens [B, (H/p)(W/p), C·p·p] → latents [B, C, H, W]. */
export function unpatchifyRef(tokens: Float32Array, s: PatchShape): Float32Array {
  const { batch: B, channels: C, height: H, width: W, patch: p } = s;
  const gw = W / p;
  const ntok = (H / p) * gw;
  const out = new Float32Array(tokens.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const tok = Math.floor(y / p) * gw + Math.floor(x / p);
          out[((b * C + c) * H + y) * W + x] = tokens[(b * ntok + tok) * C * p * p + (c * p + (y % p)) * p + (x % p)]!;
        }
  return out;
}
