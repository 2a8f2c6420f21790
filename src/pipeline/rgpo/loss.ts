/**
 * @file RGPO's objective, the one definition in TypeScript (tools/shapes/rgpo_loss.py is the PyTorch twin that the
 * trainer, tools/shapes/stage3.py, minimises; tests/fixtures/rgpo/loss_batch.json pins both to hand-computed values).
 *
 * For a group of G rollouts o_1 … o_G of one prompt, with advantages A_i (stats.ts: (r − mean) / population std, 0
 * when the group's rewards are equal) and per-token log-probabilities of the policy (log π), of the policy that
 * sampled them (log π_old) and of the frozen reference (log π_ref, the SFT reasoner):
 *
 *   ratio_it   = exp(log π − log π_old)
 *   surr_it    = min(ratio_it · A_i, clip(ratio_it, 1 − ε, 1 + ε) · A_i)                  (ε = 0.2)
 *   kl_it      = exp(log π_ref − log π) − (log π_ref − log π) − 1                          (k3, ≥ 0, KL(π‖π_ref))
 *   policy     = 1/G Σ_i 1/|o_i| Σ_t surr_it
 *   textKl     = 1/G Σ_i 1/|o_i| Σ_t kl_it
 *   imageKl    = 1/G Σ_i mean_j (v_i,j − v_ref_i,j)²
 *   loss       = −policy + β · textKl + γ · imageKl                                      (β = 0.01, γ = 0.06)
 *
 * The image term is the paper's diffusion-side KL: v_i is the painter's velocity at a noised latent x_t (its noise
 * and t drawn once per rollout) under the condition the POLICY reasoner produces for rollout i, v_ref the same
 * painter at the same x_t and t under the REFERENCE reasoner's condition for the same tokens. One Euler step of
 * the sampler is a Gaussian centred at x_t + dt · v, so the KL between the two steps is the squared velocity gap
 * times a constant (dt² / 2σ²) that γ absorbs. The painter is frozen; the gradient of this term reaches the
 * reasoner through its condition. With one on-policy update per batch (the trainer's), π_old = π and every ratio is 1.
 */
import { badInput } from '../../errors';

/** The paper's coefficients. */
export const RGPO_BETA = 0.01;
export const RGPO_IMAGE_KL_WEIGHT = 0.06;
export const RGPO_CLIP_EPSILON = 0.2;
/** Rollouts per prompt (the paper's group). */
export const RGPO_GROUP = 4;

/** One rollout of a group, as the objective sees it. */
export interface RgpoLossRollout {
  /** Per generated token: log π, log π_old, log π_ref (same length, at least one token). */
  logp: readonly number[];
  logpOld: readonly number[];
  logpRef: readonly number[];
  advantage: number;
  /** The painter's velocity under the policy's condition and under the reference's (same x_t, t; same length). */
  velocity: ArrayLike<number>;
  velocityRef: ArrayLike<number>;
}

export interface RgpoLossOptions {
  beta?: number;
  imageKlWeight?: number;
  clipEpsilon?: number;
}

export interface RgpoLossTerms {
  /** The clipped surrogate, averaged over tokens then rollouts (maximised). */
  policy: number;
  /** The text-side KL to the reference (k3 estimator), averaged over tokens then rollouts. */
  textKl: number;
  /** The diffusion-side KL: mean squared velocity gap, averaged over rollouts. */
  imageKl: number;
  /** −policy + β · textKl + γ · imageKl (minimised). */
  loss: number;
  beta: number;
  imageKlWeight: number;
  clipEpsilon: number;
}

function finite(field: string, v: number): number {
  if (!Number.isFinite(v)) throw badInput(field, `${field} must be finite, got ${v}`);
  return v;
}

/** The RGPO objective's terms for one group; BAD_INPUT naming the field on mismatched lengths or non-finite values. */
export function rgpoLoss(rollouts: readonly RgpoLossRollout[], o: RgpoLossOptions = {}): RgpoLossTerms {
  const beta = o.beta ?? RGPO_BETA;
  const imageKlWeight = o.imageKlWeight ?? RGPO_IMAGE_KL_WEIGHT;
  const clipEpsilon = o.clipEpsilon ?? RGPO_CLIP_EPSILON;
  if (rollouts.length === 0) throw badInput('rollouts', 'a group needs at least one rollout');
  let policy = 0;
  let textKl = 0;
  let imageKl = 0;
  for (const [i, r] of rollouts.entries()) {
    const n = r.logp.length;
    if (n === 0 || r.logpOld.length !== n || r.logpRef.length !== n)
      throw badInput('logp', `rollout ${i}: logp, logpOld and logpRef need the same number of tokens (at least 1)`);
    const a = finite('advantage', r.advantage);
    let s = 0;
    let k = 0;
    for (let t = 0; t < n; t++) {
      const lp = finite('logp', r.logp[t]!);
      const ratio = Math.exp(lp - finite('logpOld', r.logpOld[t]!));
      const clipped = Math.min(Math.max(ratio, 1 - clipEpsilon), 1 + clipEpsilon);
      s += Math.min(ratio * a, clipped * a);
      const d = finite('logpRef', r.logpRef[t]!) - lp;
      k += Math.exp(d) - d - 1;
    }
    policy += s / n;
    textKl += k / n;
    const m = r.velocity.length;
    if (m === 0 || r.velocityRef.length !== m)
      throw badInput('velocity', `rollout ${i}: velocity and velocityRef need the same length (at least 1)`);
    let q = 0;
    for (let j = 0; j < m; j++) {
      const d = finite('velocity', r.velocity[j]!) - finite('velocityRef', r.velocityRef[j]!);
      q += d * d;
    }
    imageKl += q / m;
  }
  const g = rollouts.length;
  policy /= g;
  textKl /= g;
  imageKl /= g;
  return {
    policy,
    textKl,
    imageKl,
    loss: -policy + beta * textKl + imageKlWeight * imageKl,
    beta,
    imageKlWeight,
    clipEpsilon,
  };
}
