/** @file CPU twin of test_pattern. */
export function testPatternRef(width: number, height: number): Uint32Array {
  const out = new Uint32Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const r = Math.floor((x * 255) / Math.max(width - 1, 1));
      const g = Math.floor((y * 255) / Math.max(height - 1, 1));
      const b = (Math.floor(x / 8) + Math.floor(y / 8)) % 2 === 0 ? 192 : 64;
      out[y * width + x] = (r | (g << 8) | (b << 16) | (255 << 24)) >>> 0;
    }
  return out;
}
