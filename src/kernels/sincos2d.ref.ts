/**
 * @file CPU twin of sincos2d (tools/rgvlm/model.py `sincos_2d`): coordinates and angles rounded to f32 as PyTorch
 * computes them, sin/cos in float64.
 */

export interface Sincos2dRefArgs {
  gh: number;
  gw: number;
  dim: number;
  base?: number;
  scale?: number;
  maxSize?: number;
}

/** [gh·gw, dim]: per token r·gw + c, [sin(col·ω), cos(col·ω), sin(row·ω), cos(row·ω)], each dim/4 wide. */
export function sincos2dRef(args: Sincos2dRefArgs): Float32Array {
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
