/**
 * @file The target (count, colour, kind) of a shapes-world prompt, read from the prompt's own words: the templates of
 * tools/shapes/world.py `all_prompts()` (direct, add, word_add, sub, word_sub, larger, smaller, mix). A prompt in
 * none of these forms has no verifiable target (the accuracy reward is then unavailable, null).
 */
import { SHAPE_COLOURS, SHAPE_KINDS, type ShapeColour } from './shapes_checker';

export interface ShapesTarget {
  n: number;
  colour: ShapeColour;
  kind: (typeof SHAPE_KINDS)[number];
}

const MAX_COUNT = 9;
const MIXES: Record<string, ShapeColour> = { 'red+yellow': 'orange', 'blue+yellow': 'green', 'blue+red': 'purple' };
const C = `(${SHAPE_COLOURS.join('|')})`;
const K = '(circle|square|triangle)s?';
const N = '(\\d)';

const TEMPLATES: { re: RegExp; target: (m: RegExpMatchArray) => [number, string, string] | null }[] = [
  // draw as many red circles as 2 plus 3
  { re: new RegExp(`^draw as many ${C} ${K} as ${N} plus ${N}$`), target: (m) => [+m[3]! + +m[4]!, m[1]!, m[2]!] },
  // Tom has 2 red circles and gets 3 more. draw them all
  {
    re: new RegExp(`^[a-z]+ has ${N} ${C} ${K} and gets ${N} more\\. draw them all$`),
    target: (m) => [+m[1]! + +m[4]!, m[2]!, m[3]!],
  },
  // draw 5 minus 2 red circles
  { re: new RegExp(`^draw ${N} minus ${N} ${C} ${K}$`), target: (m) => [+m[1]! - +m[2]!, m[3]!, m[4]!] },
  // there are 5 red circles and 2 roll away. draw the ones left
  {
    re: new RegExp(`^there are ${N} ${C} ${K} and ${N} roll away\\. draw the ones left$`),
    target: (m) => [+m[1]! - +m[4]!, m[2]!, m[3]!],
  },
  // draw the larger of 2 and 5 red circles
  {
    re: new RegExp(`^draw the (larger|smaller) of ${N} and ${N} ${C} ${K}$`),
    target: (m) => [(m[1] === 'larger' ? Math.max : Math.min)(+m[2]!, +m[3]!), m[4]!, m[5]!],
  },
  // draw 3 circles in the colour you get mixing red and yellow
  {
    re: new RegExp(`^draw ${N} ${K} in the colour you get mixing ${C} and ${C}$`),
    target: (m) => {
      const mixed = MIXES[[m[3]!, m[4]!].sort().join('+')];
      return mixed ? [+m[1]!, mixed, m[2]!] : null;
    },
  },
  // draw 3 red circles
  { re: new RegExp(`^draw ${N} ${C} ${K}$`), target: (m) => [+m[1]!, m[2]!, m[3]!] },
];

/** The target of a shapes-world prompt, or null when the prompt is not in one of the world's forms. */
export function shapesTarget(prompt: string): ShapesTarget | null {
  const p = prompt.trim().toLowerCase().replace(/\s+/g, ' ');
  for (const t of TEMPLATES) {
    const m = p.match(t.re);
    if (!m) continue;
    const r = t.target(m);
    if (!r) return null;
    const [n, colour, kind] = r;
    if (!Number.isInteger(n) || n < 0 || n > MAX_COUNT) return null;
    return { n, colour: colour as ShapeColour, kind: kind as ShapesTarget['kind'] };
  }
  return null;
}
