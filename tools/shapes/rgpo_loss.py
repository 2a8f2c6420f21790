"""RGPO's objective, the one definition in PyTorch (src/pipeline/rgpo/loss.ts is the TypeScript twin that the RGPO lab
uses; tests/fixtures/rgpo/loss_batch.json pins both to hand-computed values, see test_rgpo_loss.py).

For a batch of rollouts (right-padded tokens, `mask` 1 on generated tokens) with advantages A_i:

    ratio    = exp(logp - logp_old)
    surr     = min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)              eps = 0.2
    kl       = exp(logp_ref - logp) - (logp_ref - logp) - 1                    k3 estimator of KL(pi || pi_ref)
    policy   = mean_i( sum_t surr * mask / sum_t mask )
    text_kl  = mean_i( sum_t kl * mask / sum_t mask )
    image_kl = mean_i( mean_j (v - v_ref)^2 )                                  the painter's velocity at the same x_t, t
                                                                               under the policy's / reference's condition
    loss     = -policy + beta * text_kl + gamma * image_kl                     beta = 0.01, gamma = 0.06

The painter is frozen; image_kl's gradient reaches the reasoner through the policy's condition (v_ref is computed
without gradient from the reference reasoner's condition).
"""

from __future__ import annotations

import torch

BETA = 0.01
IMAGE_KL_WEIGHT = 0.06
CLIP_EPSILON = 0.2
GROUP = 4


def rgpo_loss(logp, logp_old, logp_ref, mask, adv, v, v_ref, beta: float = BETA, image_kl_weight: float = IMAGE_KL_WEIGHT,
              clip_epsilon: float = CLIP_EPSILON) -> dict[str, torch.Tensor]:
    """logp, logp_old, logp_ref, mask: [B, T]; adv: [B]; v, v_ref: [B, ...]. Returns the terms and the loss."""
    mask = mask.to(logp.dtype)
    n = mask.sum(1).clamp(min=1)
    a = adv.to(logp.dtype).unsqueeze(1)
    ratio = torch.exp(logp - logp_old)
    surr = torch.minimum(ratio * a, ratio.clamp(1 - clip_epsilon, 1 + clip_epsilon) * a)
    d = logp_ref - logp
    kl = torch.exp(d) - d - 1
    policy = ((surr * mask).sum(1) / n).mean()
    text_kl = ((kl * mask).sum(1) / n).mean()
    image_kl = (v - v_ref).pow(2).flatten(1).mean(1).mean()
    loss = -policy + beta * text_kl + image_kl_weight * image_kl
    return {"policy": policy, "text_kl": text_kl, "image_kl": image_kl, "loss": loss}
