/**
 * @file Group statistics of RGPO (the paper's GRPO on reasoning generation): each rollout's total reward, the
 * group's mean and standard deviation, the group-normalised advantage (r − mean) / std, and best-of-G.
 *
 * - std is the POPULATION standard deviation by default (divide by G): the lab's definition, and the trainer's
 *   (tools/shapes/stage3.py group_advantages). R1-V/TRL use torch's `std()`, which is Bessel-corrected (divide by
 *   G − 1), and add 1e-4 to it; `{ std: 'sample' }` gives the Bessel-corrected value (no epsilon) for comparison.
 * - When every reward of the group is equal (max − min ≤ EQUAL_TOLERANCE), std is 0 and every advantage is 0: the
 *   group carries no learning signal. A group of 1 is such a group. No NaN or Infinity is ever produced.
 * - best-of-G: the highest total; ties go to the lowest index.
 */
import { RgError, badInput } from '../../errors';

/** Rewards closer than this are treated as equal (float noise, not signal). */
export const EQUAL_TOLERANCE = 1e-9;

export type StdKind = 'population' | 'sample';

export interface GroupStats {
  /** Total reward per rollout, as given. */
  totals: number[];
  mean: number;
  /** 0 when every total is equal (within EQUAL_TOLERANCE) or the group has one rollout. */
  std: number;
  stdKind: StdKind;
  /** (total − mean) / std per rollout; all 0 when std is 0. They sum to 0 (up to rounding). */
  advantages: number[];
  /** Index of the best rollout (highest total, lowest index among ties). */
  best: number;
}

/** Sum of the rewards that are available (null = the reward is off or could not be computed). */
export function totalReward(scores: Record<string, number | null>): number {
  let t = 0;
  for (const v of Object.values(scores)) if (v !== null) t += v;
  return t;
}

/** Statistics of one group. Throws a RangeError for an empty group or a non-finite total. */
export function groupStats(totals: readonly number[], opts: { std?: StdKind } = {}): GroupStats {
  const stdKind = opts.std ?? 'population';
  const g = totals.length;
  if (g === 0) throw badInput('group', 'a group needs at least one rollout');
  for (const t of totals)
    if (!Number.isFinite(t)) throw new RgError('INTERNAL', `a total reward must be finite, got ${t}`);
  const mean = totals.reduce((a, b) => a + b, 0) / g;
  const lo = Math.min(...totals);
  const hi = Math.max(...totals);
  let std = 0;
  if (g > 1 && hi - lo > EQUAL_TOLERANCE) {
    const ss = totals.reduce((a, t) => a + (t - mean) * (t - mean), 0);
    std = Math.sqrt(ss / (stdKind === 'population' ? g : g - 1));
  }
  const advantages = totals.map((t) => (std > 0 ? (t - mean) / std : 0));
  let best = 0;
  for (let i = 1; i < g; i++) if (totals[i]! > totals[best]!) best = i;
  return { totals: [...totals], mean, std, stdKind, advantages, best };
}

/** Running mean of the group means seen so far (the lab's chart across repeated groups). */
export function runningMeans(groupMeans: readonly number[]): number[] {
  const out: number[] = [];
  let s = 0;
  groupMeans.forEach((m, i) => {
    s += m;
    out.push(s / (i + 1));
  });
  return out;
}
