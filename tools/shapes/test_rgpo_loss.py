"""The RGPO objective (rgpo_loss.py) and the group advantages (stage3.group_advantages) on the hand-computed batch of
tests/fixtures/rgpo/loss_batch.json, the same file the TypeScript twin's unit test reads. Also checks that the
image term's gradient reaches the condition (a stand-in for the reasoner's hidden states) through a frozen painter.

    PYTHONPATH=. /usr/bin/python3 -m tools.shapes.test_rgpo_loss
"""

from __future__ import annotations

import json
import math
import pathlib

import torch

from tools.shapes import rgpo_loss as L

FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/rgpo/loss_batch.json"


def padded(rows: list[list[float]]):
    T = max(len(r) for r in rows)
    x = torch.zeros(len(rows), T, dtype=torch.float64)
    m = torch.zeros(len(rows), T, dtype=torch.float64)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r, dtype=torch.float64)
        m[i, : len(r)] = 1
    return x, m


def main() -> None:
    fx = json.loads(FIXTURE.read_text())
    tol = fx["tolerance"]
    assert (L.BETA, L.IMAGE_KL_WEIGHT, L.CLIP_EPSILON, L.GROUP) == (fx["beta"], fx["image_kl_weight"], fx["clip_epsilon"], 4)
    from tools.shapes.stage3 import group_advantages

    adv = group_advantages(fx["rewards"]).double()
    assert max(abs(a - b) for a, b in zip(adv.tolist(), fx["advantages"])) <= 1e-6, adv  # float32 in the trainer
    adv = torch.tensor(fx["advantages"], dtype=torch.float64)
    ro = fx["rollouts"]
    logp, mask = padded([r["logp"] for r in ro])
    old, _ = padded([r["logp_old"] for r in ro])
    ref, _ = padded([r["logp_ref"] for r in ro])
    v = torch.tensor([r["velocity"] for r in ro], dtype=torch.float64)
    vr = torch.tensor([r["velocity_ref"] for r in ro], dtype=torch.float64)
    t = L.rgpo_loss(logp, old, ref, mask, adv, v, vr)
    for k, want in fx["expected"].items():
        got = float(t[k])
        assert abs(got - want) <= tol, (k, got, want)
        print(f"{k:9s} {got:+.16f}  (hand {want:+.16f})")
    # Padding must not count: the same batch with garbage in the padded slots gives the same terms.
    t2 = L.rgpo_loss(logp + (1 - mask) * 7, old - (1 - mask) * 3, ref + (1 - mask), mask, adv, v, vr)
    assert all(abs(float(t2[k]) - float(t[k])) <= tol for k in t)
    # The image term's gradient reaches the condition through a frozen "painter".
    torch.manual_seed(0)
    painter = torch.nn.Linear(3, 2).double().requires_grad_(False)
    cond = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    cond_ref = cond.detach() + 0.1
    out = L.rgpo_loss(logp, old, ref, mask, adv, painter(cond), painter(cond_ref))
    out["loss"].backward()
    assert cond.grad is not None and float(cond.grad.abs().sum()) > 0
    assert not math.isnan(float(out["loss"]))
    print("ok: the RGPO objective matches the hand-computed batch; the image KL's gradient reaches the condition")


if __name__ == "__main__":
    main()
