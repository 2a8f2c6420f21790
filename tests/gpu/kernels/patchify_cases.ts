// Shared by the patchify and unpatchify tests: the shapes, and PyTorch's reshape + permute transcribed literally
// (an independent check of the flatten order, besides the loop-based twins).
import type { PatchShape } from '../../../src/kernels/patchify';

export const patchCases: PatchShape[] = [
  { batch: 1, channels: 1, height: 1, width: 1, patch: 1 },
  { batch: 1, channels: 4, height: 16, width: 16, patch: 2 },
  { batch: 2, channels: 4, height: 6, width: 10, patch: 2 },
  { batch: 1, channels: 3, height: 9, width: 6, patch: 3 },
  { batch: 2, channels: 16, height: 64, width: 48, patch: 2 },
  { batch: 2, channels: 4, height: 32, width: 32, patch: 4 }, // the shapes pack: x2 VAE latents, patch 4
];

/** `x` of row-major `shape` permuted by `perm` (torch.Tensor.permute followed by contiguous()). */
export function permute(x: Float32Array, shape: number[], perm: number[]): Float32Array {
  const n = shape.length;
  const inStrides = new Array<number>(n);
  for (let d = n - 1, s = 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const out = new Float32Array(x.length);
  const idx = new Array<number>(n).fill(0);
  for (let o = 0; o < x.length; o++) {
    let src = 0;
    for (let d = 0; d < n; d++) src += idx[d]! * inStrides[perm[d]!]!;
    out[o] = x[src]!;
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** model.py `patchify`: latents.reshape(B, C, gh, p, gw, p).permute(0, 2, 4, 1, 3, 5). */
export function torchPatchify(x: Float32Array, s: PatchShape): Float32Array {
  const p = s.patch;
  return permute(x, [s.batch, s.channels, s.height / p, p, s.width / p, p], [0, 2, 4, 1, 3, 5]);
}

/** model.py `unpatchify`: x.reshape(B, gh, gw, C, p, p).permute(0, 3, 1, 4, 2, 5). */
export function torchUnpatchify(x: Float32Array, s: PatchShape): Float32Array {
  const p = s.patch;
  return permute(x, [s.batch, s.height / p, s.width / p, s.channels, p, p], [0, 3, 1, 4, 2, 5]);
}
