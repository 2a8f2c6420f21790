/** @file CPU twin of patchify (tools/rgvlm/model.py `patchify`), as plain loops in output order. */
import type { PatchShape } from './patchify';

/** latents [B, C, H, W] → tokens [B, (H/p)(W/p), C·p·p]. */
export function patchifyRef(latents: Float32Array, s: PatchShape): Float32Array {
  const { batch: B, channels: C, height: H, width: W, patch: p } = s;
  const gh = H / p;
  const gw = W / p;
  const out = new Float32Array(latents.length);
  let o = 0;
  for (let b = 0; b < B; b++)
    for (let r = 0; r < gh; r++)
      for (let col = 0; col < gw; col++)
        for (let c = 0; c < C; c++)
          for (let py = 0; py < p; py++)
            for (let px = 0; px < p; px++) out[o++] = latents[((b * C + c) * H + r * p + py) * W + col * p + px]!;
  return out;
}
