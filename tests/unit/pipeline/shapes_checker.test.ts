// The TypeScript shapes checker on PNGs written by the Python world (tools/shapes/test_checker.py --fixtures):
// exact expected counts, and the same objects (colour, kind, area, bbox) as the Python twin recorded.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodePngRgba } from '../../../src/pipeline/png';
import { describe, expect, it } from 'vitest';
import { checkShapes, kindOf, shapesMatch, type ShapesReport } from '../../../src/pipeline/rgpo/shapes_checker';

const FIX = fileURLToPath(new URL('../../fixtures/shapes/', import.meta.url));

interface Case {
  file: string;
  truth: Record<string, number>;
  python: ShapesReport;
}
const cases = (JSON.parse(readFileSync(FIX + 'cases.json', 'utf8')) as { cases: Case[] }).cases;

function load(file: string) {
  const png = decodePngRgba(new Uint8Array(readFileSync(FIX + file)));
  return { data: png.rgba, width: png.width, height: png.height };
}

describe('shapes checker (TS twin of tools/shapes/checker.py)', () => {
  it('has the fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
  });

  it.each(cases.map((c) => [c.file, c] as const))('%s: same report as Python', (_name, c) => {
    const { data, width, height } = load(c.file);
    expect([width, height]).toEqual([64, 64]);
    const r = checkShapes(data, width, height, 4);
    expect(r.objects).toEqual(c.python.objects);
    expect(r.counts).toEqual(c.python.counts);
    expect(r.counts).toEqual(c.truth);
  });

  it('exact counts on named fixtures', () => {
    const count = (f: string) => {
      const { data, width, height } = load(f);
      return checkShapes(data, width, height);
    };
    const five = count('five_red_circles.png');
    expect(five.counts).toEqual({ 'red circle': 5 });
    expect(shapesMatch(five, 5, 'red', 'circle')).toBe(true);
    expect(shapesMatch(five, 4, 'red', 'circle')).toBe(false);
    expect(shapesMatch(five, 5, 'blue', 'circle')).toBe(false);
    expect(count('zero_blue_squares.png').objects).toEqual([]);
    expect(shapesMatch(count('zero_blue_squares.png'), 0, 'blue', 'square')).toBe(true);
    expect(count('nine_yellow_triangles.png').counts).toEqual({ 'yellow triangle': 9 });
    expect(count('three_purple_squares_random.png').counts).toEqual({ 'purple square': 3 });
    expect(count('seven_orange_circles_random.png').counts).toEqual({ 'orange circle': 7 });
    expect(count('one_green_triangle.png').counts).toEqual({ 'green triangle': 1 });
    expect(count('blurred_four_green_squares.png').counts).toEqual({ 'green square': 4 });
  });

  it('RGB input gives the same report as RGBA', () => {
    const { data, width, height } = load('mixed_11.png');
    const rgb = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) for (let k = 0; k < 3; k++) rgb[p * 3 + k] = data[p * 4 + k]!;
    expect(checkShapes(rgb, width, height, 3)).toEqual(checkShapes(data, width, height, 4));
  });

  it('classifies kinds by fill ratio and rejects odd sizes', () => {
    expect(kindOf(196, 14, 14)).toBe('square');
    expect(kindOf(154, 14, 14)).toBe('circle');
    expect(kindOf(98, 14, 14)).toBe('triangle');
    expect(kindOf(900, 30, 30)).toBe('other');
    expect(kindOf(12, 4, 3)).toBe('other');
  });

  it('refuses a buffer that is too short', () => {
    expect(() => checkShapes(new Uint8Array(10), 64, 64)).toThrow(RangeError);
  });
});
