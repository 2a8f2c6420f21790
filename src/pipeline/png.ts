/**
 * @file PNG encoding of results with their provenance in tEXt chunks (fast-png). tEXt is Latin-1 only, so values
 * are written with every character outside printable ASCII escaped as \uXXXX (JSON style); `readPngText` undoes it.
 * The encoder is deterministic: the same pixels and text give the same bytes.
 */
import { decode, encode } from 'fast-png';
import { badInput } from '../errors';

function escapeText(s: string): string {
  return s.replace(/[^\x20-\x7e\n]|\\/g, (c) =>
    c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function unescapeText(s: string): string {
  return s.replace(/\\(\\|u[0-9a-f]{4})/g, (_, e: string) =>
    e === '\\' ? '\\' : String.fromCharCode(parseInt(e.slice(1), 16)),
  );
}

/** PNG bytes of RGB [height, width, 3] pixels with `text` as tEXt chunks (keys in the given order). */
export function encodePng(
  rgb: Uint8Array,
  width: number,
  height: number,
  text: Record<string, string> = {},
): Uint8Array {
  const escaped = Object.fromEntries(Object.entries(text).map(([k, v]) => [k, escapeText(v)]));
  return encode({ width, height, data: rgb, channels: 3, depth: 8, text: escaped });
}

/** The tEXt chunks of a PNG written by `encodePng`, unescaped. */
export function readPngText(png: Uint8Array): Record<string, string> {
  const d = decode(png);
  return Object.fromEntries(Object.entries(d.text).map(([k, v]) => [k, unescapeText(v)]));
}

/** Decodes a PNG to 8-bit RGBA (for Edit inputs given as PNG bytes in tests and the CLI). */
export function decodePngRgba(png: Uint8Array): { width: number; height: number; rgba: Uint8ClampedArray } {
  const d = decode(png);
  if (d.depth !== 8) throw badInput('image', `PNG bit depth ${d.depth} is not supported here (8-bit PNGs only)`);
  const n = d.width * d.height;
  const out = new Uint8ClampedArray(n * 4);
  const src = d.data;
  for (let i = 0; i < n; i++) {
    if (d.channels >= 3) {
      out[i * 4] = src[i * d.channels]!;
      out[i * 4 + 1] = src[i * d.channels + 1]!;
      out[i * 4 + 2] = src[i * d.channels + 2]!;
    } else {
      out[i * 4] = out[i * 4 + 1] = out[i * 4 + 2] = src[i * d.channels]!;
    }
    out[i * 4 + 3] = d.channels === 4 || d.channels === 2 ? src[i * d.channels + d.channels - 1]! : 255;
  }
  return { width: d.width, height: d.height, rgba: out };
}
