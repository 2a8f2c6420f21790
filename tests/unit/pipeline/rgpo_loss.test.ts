/**
 * RGPO's objective (src/pipeline/rgpo/loss.ts) on a tiny hand-computed group (tests/fixtures/rgpo/loss_batch.json,
 * also checked by tools/shapes/test_rgpo_loss.py against the PyTorch twin). The arithmetic, by hand:
 *
 *   rewards 2, 1, 1, 0 → mean 1, population std √(2/4) = √½ → advantages √2, 0, 0, −√2
 *   rollout 0 (A = √2):  t0 ratio e^0.5 = 1.6487 → clipped to 1.2 → 1.2√2;  t1 ratio 1 → √2;   mean 1.1√2
 *                        KL t0 d = ln2 → 2 − ln2 − 1 = 1 − ln2; t1 0;                           mean (1 − ln2)/2
 *   rollout 1 (A = 0):   surrogate 0, KL 0
 *   rollout 2 (A = 0):   surrogate 0, KL d = −ln2 → ½ + ln2 − 1 = ln2 − ½
 *   rollout 3 (A = −√2): t0 ratio e^−0.5 = 0.6065 → min(−0.6065√2, −0.8√2) = −0.8√2; t1 −√2;   mean −0.9√2
 *   policy  = (1.1√2 − 0.9√2) / 4                       = 0.05√2  = 0.0707106781186548
 *   textKl  = ((1 − ln2)/2 + ln2 − ½) / 4               = ln2 / 8 = 0.0866433975699932
 *   imageKl = (½ + 0 + (0.04 + 0.04)/2 + ½) / 4         = 0.26
 *   loss    = −0.05√2 + 0.01 · ln2/8 + 0.06 · 0.26      = −0.0542442441429548
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  RGPO_BETA,
  RGPO_CLIP_EPSILON,
  RGPO_GROUP,
  RGPO_IMAGE_KL_WEIGHT,
  rgpoLoss,
  type RgpoLossRollout,
} from '../../../src/pipeline/rgpo/loss';
import { groupStats } from '../../../src/pipeline/rgpo/stats';

interface FixtureRollout {
  logp: number[];
  logp_old: number[];
  logp_ref: number[];
  velocity: number[];
  velocity_ref: number[];
}
const fx = JSON.parse(readFileSync('tests/fixtures/rgpo/loss_batch.json', 'utf8')) as {
  beta: number;
  image_kl_weight: number;
  clip_epsilon: number;
  rewards: number[];
  advantages: number[];
  rollouts: FixtureRollout[];
  expected: { policy: number; text_kl: number; image_kl: number; loss: number };
  tolerance: number;
};

function batch(advantages: readonly number[]): RgpoLossRollout[] {
  return fx.rollouts.map((r, i) => ({
    logp: r.logp,
    logpOld: r.logp_old,
    logpRef: r.logp_ref,
    advantage: advantages[i]!,
    velocity: r.velocity,
    velocityRef: r.velocity_ref,
  }));
}

describe('RGPO objective', () => {
  it('the paper’s coefficients and group are the defaults (β 0.01, image KL 0.06, G 4)', () => {
    expect([RGPO_BETA, RGPO_IMAGE_KL_WEIGHT, RGPO_CLIP_EPSILON, RGPO_GROUP]).toEqual([
      fx.beta,
      fx.image_kl_weight,
      fx.clip_epsilon,
      4,
    ]);
  });

  it('the advantages are the lab’s: (r − mean) / population std', () => {
    const s = groupStats(fx.rewards);
    s.advantages.forEach((a, i) => expect(Math.abs(a - fx.advantages[i]!)).toBeLessThanOrEqual(fx.tolerance));
  });

  it('every term equals the hand-computed value', () => {
    const t = rgpoLoss(batch(groupStats(fx.rewards).advantages));
    const e = fx.expected;
    for (const [got, want] of [
      [t.policy, e.policy],
      [t.textKl, e.text_kl],
      [t.imageKl, e.image_kl],
      [t.loss, e.loss],
    ] as const) {
      expect(Math.abs(got - want)).toBeLessThanOrEqual(fx.tolerance);
    }
  });

  it('each term moves the loss by its own weight', () => {
    const base = rgpoLoss(batch(fx.advantages));
    const noKl = rgpoLoss(batch(fx.advantages), { beta: 0 });
    const noImage = rgpoLoss(batch(fx.advantages), { imageKlWeight: 0 });
    expect(base.loss - noKl.loss).toBeCloseTo(0.01 * fx.expected.text_kl, 14);
    expect(base.loss - noImage.loss).toBeCloseTo(0.06 * fx.expected.image_kl, 14);
  });

  it('bad batches are refused naming the field', () => {
    const b = batch(fx.advantages);
    expect(() => rgpoLoss([])).toThrow(expect.objectContaining({ code: 'BAD_INPUT', field: 'rollouts' }));
    expect(() => rgpoLoss([{ ...b[0]!, logpOld: [0] }])).toThrow(expect.objectContaining({ field: 'logp' }));
    expect(() => rgpoLoss([{ ...b[0]!, velocityRef: [1] }])).toThrow(expect.objectContaining({ field: 'velocity' }));
    expect(() => rgpoLoss([{ ...b[0]!, advantage: NaN }])).toThrow(expect.objectContaining({ field: 'advantage' }));
  });
});
