/** @file CPU twin of preview: the same f32 operations in the same order. */

/** RGBA8 pixels (packed u32, r in the low byte) of latents [C, H·W] through rgb = clamp(A·z + b, 0, 1). */
export function previewRef(
  z: Float32Array,
  args: { channels: number; matrix: ArrayLike<number>; bias: ArrayLike<number> },
): Uint32Array {
  const f = Math.fround;
  const C = args.channels;
  const pixels = z.length / C;
  const out = new Uint32Array(pixels);
  const byte = (v: number) => Math.floor(f(f(Math.min(Math.max(v, 0), 1) * 255) + 0.5));
  for (let i = 0; i < pixels; i++) {
    const rgb = [0, 0, 0];
    for (let c = 0; c < C; c++) {
      const v = z[c * pixels + i]!;
      for (let ch = 0; ch < 3; ch++) rgb[ch] = f(rgb[ch]! + f(f(args.matrix[ch * C + c]!) * v));
    }
    for (let ch = 0; ch < 3; ch++) rgb[ch] = f(rgb[ch]! + f(args.bias[ch]!));
    out[i] = (byte(rgb[0]!) | (byte(rgb[1]!) << 8) | (byte(rgb[2]!) << 16) | (255 << 24)) >>> 0;
  }
  return out;
}
