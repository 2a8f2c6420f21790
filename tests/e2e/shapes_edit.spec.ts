/**
 * `rg edit` on the shapes pack, as a new user would try it: a picture of three red circles (drawn here in the
 * shapes world's layout: the first three cells of the 3×3 grid) and "make the circles blue", then "turn them into
 * squares" (both tasks are in world v2's held-out test split, never trained; "add two more" is not here: 3 + 2 rests
 * on a held-out fact, which the pack gets wrong, as its evaluation says).
 * The reasoner reads the picture and the instruction (its answer is the edited caption) and the painter paints it
 * from Edit's start at the pack's strength; the TypeScript shapes checker reads the result. Tagged @heavy (two runs
 * of the shapes pack at its 50 steps, about a minute): `npm run test:heavy`.
 */
import { expect, test } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePngRgba, encodePng } from '../../src/pipeline/png';
import { checkShapes, shapesMatch } from '../../src/pipeline/rgpo/shapes_checker';
import { rg } from './rg_cli';

/** 64×64 RGB: n red circles (14 px) in the first n cells (20 px, from 2 px), as tools/shapes/world.py renders. */
function redCircles(n: number): Uint8Array {
  const S = 64;
  const rgb = new Uint8Array(S * S * 3).fill(255);
  for (let slot = 0; slot < n; slot++) {
    const y0 = 2 + Math.floor(slot / 3) * 20 + 3;
    const x0 = 2 + (slot % 3) * 20 + 3;
    for (let y = 0; y < 14; y++) {
      for (let x = 0; x < 14; x++) {
        if ((y + 0.5 - 7) ** 2 + (x + 0.5 - 7) ** 2 > 49) continue;
        rgb.set([220, 40, 40], ((y0 + y) * S + x0 + x) * 3);
      }
    }
  }
  return rgb;
}

for (const [instruction, n, colour, answer, kind] of [
  ['make the circles blue', 3, 'blue', '3 blue circles', 'circle'],
  ['turn them into squares', 3, 'red', '3 red squares', 'square'],
] as const) {
  test(`rg edit on shapes: three red circles, "${instruction}" → ${answer}`, { tag: '@heavy' }, async () => {
    test.setTimeout(240_000);
    const dir = mkdtempSync(join(tmpdir(), 'rg-shapes-edit-'));
    const input = join(dir, 'three_red_circles.png');
    const rgb = redCircles(3);
    writeFileSync(input, encodePng(rgb, 64, 64));
    expect(checkShapes(rgb, 64, 64, 3).counts).toEqual({ 'red circle': 3 });
    const out = join(dir, 'out');
    const r = await rg(['edit', '--pack', 'shapes', '--image', input, '--instruction', instruction, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    console.log(`rg edit "${instruction}": ${JSON.stringify(result.reasoning)} → ${JSON.stringify(result.answer)}`);
    expect(result.answer).toBe(answer);
    const png = decodePngRgba(new Uint8Array(readFileSync(join(out, 'image.png'))));
    const report = checkShapes(png.rgba, png.width, png.height);
    console.log(`checker: ${JSON.stringify(report.counts)}`);
    expect(shapesMatch(report, n, colour, kind), JSON.stringify(report.counts)).toBe(true);
  });
}
