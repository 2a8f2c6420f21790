/** PNG encoding: pixels and tEXt chunks (any Unicode, escaped to Latin-1) round-trip; the bytes are deterministic. */
import { describe, expect, it } from 'vitest';
import { decodePngRgba, encodePng, readPngText } from '../../../src/pipeline/png';

describe('png', () => {
  it('round-trips pixels and Unicode text, deterministically', () => {
    const W = 5;
    const H = 3;
    const rgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37) % 256);
    const text = {
      prompt: 'draw 3 🍎 + 2 🍎 — “café” \\u1234 literal\nline 2',
      seed: '42',
      settings: JSON.stringify({ steps: 4 }),
    };
    const a = encodePng(rgb, W, H, text);
    const b = encodePng(rgb, W, H, text);
    expect(a).toEqual(b);
    expect(readPngText(a)).toEqual(text);
    const px = decodePngRgba(a);
    expect([px.width, px.height]).toEqual([W, H]);
    for (let i = 0; i < W * H; i++)
      expect([...px.rgba.subarray(i * 4, i * 4 + 4)]).toEqual([...rgb.subarray(i * 3, i * 3 + 3), 255]);
  });
});
