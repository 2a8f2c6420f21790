/**
 * @file RGPO rewards: each scores one rollout (the completion and the image painted from it) with a number in [0, 1],
 * or null when it is unavailable for that rollout (its model is off, or the prompt has no verifiable target).
 *
 * - format: the paper's regex `<think>.*?</think>\s*<answer>.*?</answer>` (DOTALL), 1 or 0 — the reasoner parser's
 *   FORMAT_REGEX, reused, so the lab and every run's `formatOk` agree.
 * - accuracy (shapes): for packs whose manifest declares `rewards.checker: 'shapes'`, the shapes checker reads the
 *   image; 1 when it finds exactly the prompt's target count, colour and kind, else 0 (tools/shapes/stage3.py).
 * - similarity (CLIP in the paper): max(s, 0) / 100 of an image–text model's logits_per_image s, clamped to [0, 1];
 *   off (null for every rollout) when the pack supplies no such model.
 */
import { FORMAT_REGEX } from '../../models/reasoner/parse';
import { checkShapes, shapesMatch } from './shapes_checker';
import { shapesTarget } from './shapes_target';
import { RgError } from '../../errors';

/** The image of a rollout, decoded to 8-bit RGBA. */
export interface RolloutImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/** What a reward sees of one rollout. */
export interface Rollout {
  /** The user's prompt (the target the image should satisfy). */
  prompt: string;
  /** The completion with its tags. */
  text: string;
  answer: string;
  image: RolloutImage;
}

export interface Reward {
  /** Stable key (result records, CLI output, data attributes). */
  readonly name: string;
  /** What the UI calls it. */
  readonly label: string;
  /** False when the reward is off for this pack (it then scores null). */
  readonly available: boolean;
  score(rollout: Rollout): Promise<number | null>;
}

/** How a reward is described in results (the reward objects stay in the worker). */
export interface RewardInfo {
  name: string;
  label: string;
  available: boolean;
}

export const describeReward = (r: Reward): RewardInfo => ({ name: r.name, label: r.label, available: r.available });

/** 1 when the completion matches the paper's format regex, else 0. */
export function formatScore(text: string): number {
  return FORMAT_REGEX.test(text) ? 1 : 0;
}

export const formatReward: Reward = {
  name: 'format',
  label: 'Format',
  available: true,
  score: async (r) => formatScore(r.text),
};

/** 1 / 0 from the shapes checker against the prompt's target; null when the prompt has no shapes-world target. */
export function shapesAccuracyScore(prompt: string, image: RolloutImage): number | null {
  const t = shapesTarget(prompt);
  if (!t) return null;
  return shapesMatch(checkShapes(image.rgba, image.width, image.height, 4), t.n, t.colour, t.kind) ? 1 : 0;
}

export const shapesAccuracyReward: Reward = {
  name: 'accuracy',
  label: 'Accuracy (shapes checker)',
  available: true,
  score: async (r) => shapesAccuracyScore(r.prompt, r.image),
};

/** An image–text similarity model: returns the raw score s (CLIP's logits_per_image, logit_scale · cos). */
export interface SimilarityScorer {
  similarity(image: RolloutImage, text: string): Promise<number>;
}

/** The paper's accuracy reward from a similarity score: max(s, 0) / 100, clamped to [0, 1] (NaN → 0). */
export function similarityScore(s: number): number {
  if (!Number.isFinite(s)) return s === Infinity ? 1 : 0;
  return Math.min(1, Math.max(s, 0) / 100);
}

/** The similarity reward; with no scorer it is off and scores null. */
export function similarityReward(scorer: SimilarityScorer | null): Reward {
  return {
    name: 'similarity',
    label: 'Similarity (CLIP)',
    available: scorer !== null,
    score: async (r) => (scorer ? similarityScore(await scorer.similarity(r.image, r.prompt)) : null),
  };
}

/** Scores a rollout with every reward; a reward that throws fails the rollout (its error names the reward). */
export async function scoreRollout(
  rewards: readonly Reward[],
  rollout: Rollout,
): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const r of rewards) {
    let v: number | null;
    try {
      v = await r.score(rollout);
    } catch (e) {
      throw new RgError('RUNTIME', `the ${r.label} reward failed: ${(e as Error).message}`, {
        cause: e,
        hint: 'Run the group again; if it keeps failing, the pack’s reward model is broken.',
      });
    }
    if (v !== null && !(Number.isFinite(v) && v >= 0 && v <= 1))
      throw new RgError('INTERNAL', `the ${r.label} reward gave ${v}, outside [0, 1]`);
    out[r.name] = v;
  }
  return out;
}

/**
 * The rewards for a pack: format always; accuracy when the manifest declares the shapes checker; the similarity
 * slot always listed (off without a scorer).
 */
export function packRewards(m: { rewards?: { checker?: 'shapes' } }, similarity: SimilarityScorer | null): Reward[] {
  const out: Reward[] = [formatReward];
  if (m.rewards?.checker === 'shapes') out.push(shapesAccuracyReward);
  out.push(similarityReward(similarity));
  return out;
}
