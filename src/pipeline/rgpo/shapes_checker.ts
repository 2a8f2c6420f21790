// The shapes-world checker: reads an image and reports which shapes, of which colour, and how many.
// TypeScript twin of tools/shapes/checker.py (same constants, same integer arithmetic, same scan order), so both
// give identical results on the same pixels. Pure TS on RGBA (or RGB) pixels, no DOM.
//
// 1. Per pixel: squared RGB distance to white and to each palette colour; the nearest wins (ties go to the earlier
//    entry, white first); labelled with a palette colour when that colour is nearest and distance² <= TOL2.
// 2. 4-connected components of equal labels, row-major scan, explicit-stack flood fill (neighbours pushed in the
//    order up, down, left, right); components under MIN_AREA pixels are ignored.
// 3. Kind from bbox w x h and area: 'other' when a side is outside [MIN_SIDE, MAX_SIDE]; else
//    100·area >= 88·w·h square, >= 64·w·h circle, else triangle.

export const SHAPE_COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple'] as const;
export type ShapeColour = (typeof SHAPE_COLOURS)[number];
export const SHAPE_KINDS = ['circle', 'square', 'triangle'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number] | 'other';

/** RGB of each colour, in SHAPE_COLOURS order (tools/shapes/world.py PALETTE). */
export const SHAPE_PALETTE: Readonly<Record<ShapeColour, readonly [number, number, number]>> = {
  red: [220, 40, 40],
  orange: [245, 130, 20],
  yellow: [235, 215, 25],
  green: [40, 160, 60],
  blue: [40, 80, 220],
  purple: [140, 60, 180],
};
const BACKGROUND = [255, 255, 255] as const;

export const TOL2 = 70 * 70;
export const MIN_AREA = 12;
export const MIN_SIDE = 6;
export const MAX_SIDE = 24;
const SQUARE_FILL = 88;
const CIRCLE_FILL = 64;

export interface ShapeObject {
  colour: ShapeColour;
  kind: ShapeKind;
  area: number;
  /** [x0, y0, x1, y1], inclusive. */
  bbox: [number, number, number, number];
}

export interface ShapesReport {
  objects: ShapeObject[];
  /** "red circle" -> count, in order of first appearance. */
  counts: Record<string, number>;
}

const REFS: ReadonlyArray<readonly [number, number, number]> = [
  BACKGROUND,
  ...SHAPE_COLOURS.map((c) => SHAPE_PALETTE[c]),
];

/** Colour index into SHAPE_COLOURS per pixel, or -1. `channels` is 4 for RGBA, 3 for RGB. */
export function labelPixels(pixels: ArrayLike<number>, width: number, height: number, channels = 4): Int8Array {
  if (pixels.length < width * height * channels) {
    throw new RangeError(`shapes checker: ${pixels.length} values for ${width}x${height}x${channels}`);
  }
  const out = new Int8Array(width * height);
  for (let p = 0; p < width * height; p++) {
    const r = pixels[p * channels]!;
    const g = pixels[p * channels + 1]!;
    const b = pixels[p * channels + 2]!;
    let best = 0;
    let bd = Infinity;
    for (let k = 0; k < REFS.length; k++) {
      const ref = REFS[k]!;
      const dr = r - ref[0];
      const dg = g - ref[1];
      const db = b - ref[2];
      const d = dr * dr + dg * dg + db * db;
      if (d < bd) {
        bd = d;
        best = k;
      }
    }
    out[p] = best > 0 && bd <= TOL2 ? best - 1 : -1;
  }
  return out;
}

export function kindOf(area: number, w: number, h: number): ShapeKind {
  if (w < MIN_SIDE || h < MIN_SIDE || w > MAX_SIDE || h > MAX_SIDE) return 'other';
  if (100 * area >= SQUARE_FILL * w * h) return 'square';
  if (100 * area >= CIRCLE_FILL * w * h) return 'circle';
  return 'triangle';
}

export function checkShapes(pixels: ArrayLike<number>, width: number, height: number, channels = 4): ShapesReport {
  const lab = labelPixels(pixels, width, height, channels);
  const n = width * height;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const objects: ShapeObject[] = [];
  for (let start = 0; start < n; start++) {
    const c = lab[start]!;
    if (c < 0 || seen[start]) continue;
    seen[start] = 1;
    let sp = 0;
    stack[sp++] = start;
    let area = 0;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    while (sp > 0) {
      const p = stack[--sp]!;
      area++;
      const y = Math.floor(p / width);
      const x = p - y * width;
      if (x < x0) x0 = x;
      if (y < y0) y0 = y;
      if (x > x1) x1 = x;
      if (y > y1) y1 = y;
      if (y > 0 && !seen[p - width] && lab[p - width] === c) {
        seen[p - width] = 1;
        stack[sp++] = p - width;
      }
      if (y < height - 1 && !seen[p + width] && lab[p + width] === c) {
        seen[p + width] = 1;
        stack[sp++] = p + width;
      }
      if (x > 0 && !seen[p - 1] && lab[p - 1] === c) {
        seen[p - 1] = 1;
        stack[sp++] = p - 1;
      }
      if (x < width - 1 && !seen[p + 1] && lab[p + 1] === c) {
        seen[p + 1] = 1;
        stack[sp++] = p + 1;
      }
    }
    if (area < MIN_AREA) continue;
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    objects.push({ colour: SHAPE_COLOURS[c]!, kind: kindOf(area, w, h), area, bbox: [x0, y0, x1, y1] });
  }
  const counts: Record<string, number> = {};
  for (const o of objects) {
    const k = `${o.colour} ${o.kind}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return { objects, counts };
}

/** Exactly n shapes, all of this colour and kind (n = 0: no shape at all). */
export function shapesMatch(report: ShapesReport, n: number, colour: ShapeColour, kind: ShapeKind): boolean {
  return report.objects.length === n && report.objects.every((o) => o.colour === colour && o.kind === kind);
}
