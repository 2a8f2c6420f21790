"""Stage 3: RGPO (the paper's GRPO on reasoning generation) on the reasoner's tokens.

Per prompt: a group of G = 4 rollouts sampled from the policy (temperature 1, CoT system prompt, stop at
`</answer>`); each rollout's hidden states condition the (frozen) painter, which paints with a fixed seed; reward =
format (the paper's regex `<think>.*?</think>\\s*<answer>.*?</answer>`, 0/1) + accuracy (the shapes checker on the
generated image: exactly the target count, colour and kind, 0/1). Advantages are group-normalised,
A = (r - mean) / std with the population std, and A = 0 for a group whose rewards are all equal (the definitions of
the RGPO lab, src/pipeline/rgpo/, so the trainer and the lab report the same numbers; the format regex is anchored
at the start, as the lab's and open-r1's `re.match`). The objective is the paper's, defined once in rgpo_loss.py
(twin of src/pipeline/rgpo/loss.ts): the clipped surrogate of A, text-side KL(pi || pi_SFT) (k3 per token) with
beta = 0.01, and the diffusion-side KL with weight 0.06: the frozen painter's velocity at a noised latent of the
rollout's own image under the policy's condition against the same under the reference (SFT) reasoner's condition,
whose gradient reaches the reasoner through the condition. One on-policy update per batch of prompts (so the ratio
pi / pi_old is 1). Only the reasoner (language model) is updated.

    nice -n 19 /usr/bin/python3 -m tools.shapes.stage3 --minutes 15 > /tmp/shapes_stage3.log

Needs CKPT/sft.pt, CKPT/vae.pt; writes CKPT/rgpo.pt ({reasoner, painter}).
"""

from __future__ import annotations

import argparse
import copy
import random
import re
import time

import torch

from tools.shapes.data import imagine_text, lm_batch
from tools.shapes.models import load, load_models, save, tokenizer
from tools.rgvlm import pipeline as P
from tools.shapes.painter_cache import condition_pass, image_pass, pad_conditions
from tools.shapes.rgpo_loss import BETA, GROUP, IMAGE_KL_WEIGHT, rgpo_loss
from tools.shapes.sampling import negative_condition, paint_latents, sample_group
from tools.shapes.training import reasoner_forward, start, teacher_forced_conditions
from tools.shapes import world_v2 as W2
from tools.shapes.checker import check, matches

FORMAT = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.S)


def format_reward(text: str) -> float:
    return 1.0 if FORMAT.match(text) else 0.0


def group_advantages(r: list[float]) -> torch.Tensor:
    """(r - mean) / population std; all zeros when the rewards are equal (src/pipeline/rgpo/stats.ts)."""
    rt = torch.tensor(r, dtype=torch.float64)
    std = float(rt.std(unbiased=False))
    return torch.zeros(len(r)) if std == 0 else ((rt - rt.mean()) / std).float()


def token_logprobs(reasoner, seqs: list[list[int]], starts: list[int]):
    """log pi(token) of every completion token (right-padded batch) -> logp [B, L-1], mask [B, L-1]."""
    ids, am, lmask = lm_batch(list(zip(seqs, starts)))
    logits, _ = reasoner_forward(reasoner, ids, am)
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1))[..., 0]
    return lp, lmask[:, 1:]


def painter_velocities(painter, reasoner, ref, seqs: list[list[int]], x1: torch.Tensor, gen: torch.Generator):
    """The frozen painter's velocity at x_t = t x1 + (1 - t) x0 (x0 and t drawn once per rollout) under the policy
    reasoner's condition (with gradient) and under the reference reasoner's (without): rgpo_loss's v and v_ref."""
    conds = teacher_forced_conditions.__wrapped__(reasoner, seqs)  # the same rows, with the gradient kept
    with torch.no_grad():
        conds_ref = teacher_forced_conditions(ref, seqs)
    B = x1.shape[0]
    x0 = torch.randn(x1.shape, generator=gen)
    t = torch.rand(B, generator=gen)
    xt = t.view(B, 1, 1, 1) * x1 + (1 - t.view(B, 1, 1, 1)) * x0
    cp, lens = pad_conditions(conds)
    v = image_pass(painter, condition_pass(painter, cp, lens), lens, xt, t)
    with torch.no_grad():
        cr, lr = pad_conditions(conds_ref)
        v_ref = image_pass(painter, condition_pass(painter, cr, lr), lr, xt, t)
    return v, v_ref


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--prompts", type=int, default=4, help="prompts per update")
    ap.add_argument("--group", type=int, default=GROUP)
    ap.add_argument("--beta", type=float, default=BETA, help="text-side KL weight")
    ap.add_argument("--image_kl", type=float, default=IMAGE_KL_WEIGHT, help="diffusion-side KL weight")
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--paint_steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--vision", default=None, help="take the vision tower from this checkpoint (stage0 --vision_only)")
    ap.add_argument("--world", choices=["v1", "v2"], default="v1", help="prompt world (v1: the shipped pack's; see world_v2.py)")
    ap.add_argument("--fresh", action="store_true")
    args, log = start(ap, "stage3")
    pc, reasoner, painter, vae, meta = load_models("sft.pt", "sft.pt", "vae.pt")
    log(f"loaded {meta}")
    if args.vision:
        vis = load(args.vision)
        if vis is None:
            raise SystemExit(f"no {args.vision}")
        reasoner.vision.load_state_dict({k[len("vision."):]: v for k, v in vis["reasoner"].items() if k.startswith("vision.")})
        log(f"vision tower from {args.vision} (step {vis['step']}, understanding {vis.get('understanding')})")
    ref = copy.deepcopy(reasoner).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    painter.eval().requires_grad_(False)
    vae.eval()
    params = list(reasoner.lm.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    it = 0
    ck = None if args.fresh else load("rgpo.pt")
    if ck is not None and "opt" in ck:
        reasoner.load_state_dict(ck["reasoner"])
        opt.load_state_dict(ck["opt"])
        it = ck["iter"]
        log(f"resumed at iteration {it}")
    neg = negative_condition(reasoner, pc)
    tok = tokenizer()
    train, _ = W2.world_split(args.world)
    rng = random.Random(6000 + it)
    gen = torch.Generator().manual_seed(6000 + it)
    deadline = log.t0 + 60 * args.minutes
    history = []
    while it < args.iters and time.time() < deadline:
        seqs, starts, adv, rewards, latents = [], [], [], [], []
        reasoner.eval()
        for _ in range(args.prompts):
            p = rng.choice(train)
            pids = tok.encode(imagine_text(p.prompt, cot=True))
            outs = sample_group(reasoner, pids, args.group, 48, args.temperature, gen)
            full = [pids + o for o in outs]
            conds = teacher_forced_conditions(reasoner, full)
            seeds = [rng.randrange(1 << 31) for _ in outs]
            with torch.no_grad():
                z = paint_latents(painter, pc, conds, neg, seeds, args.paint_steps, pc.default_guidance)
                x = vae.decoder(z).numpy()
            imgs = [P.to_pixels(x[i : i + 1]) for i in range(len(outs))]
            latents.append((z - pc.vae.shift_factor) * pc.vae.scaling_factor)
            r = []
            for o, im in zip(outs, imgs):
                text = tok.decode(o)
                r.append(format_reward(text) + (1.0 if matches(check(im), p.n, p.colour, p.kind) else 0.0))
            a = group_advantages(r)
            rewards += r
            for o, ai in zip(full, a.tolist()):
                seqs.append(o)
                starts.append(len(pids))
                adv.append(ai)
        reasoner.train()
        A = torch.tensor(adv)
        lp, m = token_logprobs(reasoner, seqs, starts)
        with torch.no_grad():
            lp_ref, _ = token_logprobs(ref, seqs, starts)
        v, v_ref = painter_velocities(painter, reasoner, ref, seqs, torch.cat(latents), gen)
        # One on-policy update: pi_old is the policy itself (detached), so every ratio is 1 and its gradient is A.
        terms = rgpo_loss(lp, lp.detach(), lp_ref, m, A, v, v_ref, beta=args.beta, image_kl_weight=args.image_kl)
        loss = terms["loss"]
        opt.zero_grad()
        loss.backward()  # also with all advantages 0: the two KL terms still pull towards the reference
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        it += 1
        mean_r = sum(rewards) / len(rewards)
        history.append(mean_r)
        log(f"iter {it} mean reward {mean_r:.3f} (format+accuracy, max 2) text kl {float(terms['text_kl']):.4f} "
            f"image kl {float(terms['image_kl']):.4f} loss {float(loss):.4f} "
            f"running {sum(history[-20:]) / len(history[-20:]):.3f}")
        if it % 10 == 0:
            save({"reasoner": reasoner.state_dict(), "painter": painter.state_dict(), "opt": opt.state_dict(), "iter": it,
                    "reward_history": history}, "rgpo.pt")
    save({"reasoner": reasoner.state_dict(), "painter": painter.state_dict(), "opt": opt.state_dict(), "iter": it,
            "reward_history": history}, "rgpo.pt")
    log(f"done at iteration {it}")


if __name__ == "__main__":
    main()
