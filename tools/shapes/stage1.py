"""Stage 1: painter pretraining (connector + DiT) conditioned on the frozen stage-0 reasoner's last-layer hidden
states of captions ("3 red circles", rendered as a no-CoT Imagine prompt, prefill only), rectified flow
(x_t = t x1 + (1 - t) x0, v = x1 - x0, t ~ logit-normal), 10 % of conditions replaced by the negative prompt's
(classifier-free guidance).

    nice -n 19 /usr/bin/python3 -m tools.shapes.stage1 --minutes 25 > /tmp/shapes_stage1.log

Needs CKPT/stage0.pt and CKPT/vae.pt; writes CKPT/stage1.pt ({painter, opt, step}).
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from tools.rgvlm import pipeline as P
from tools.shapes.data import imagine_text
from tools.shapes.models import load, load_models, save, stop_ids, tokenizer
from tools.shapes.painter_cache import check_cached_forward, pad_conditions
from tools.shapes.sampling import encode_latents, negative_condition, paint
from tools.shapes.training import flow_loss, lr_at, optimise, start
from tools.shapes import world as W
from tools.shapes.checker import check, matches

POOL_SEEDS = 8  # images per caption in the latent pool when the painter learns jittered placements
# The painter learns the canonical placement (no jitter): with +-1 px jitter its under-fitted velocity averaged the
# jittered targets, and the blurred corners read as circles (third round). Seeds still change the noise, not the layout.
POOL_JITTERED = False


@torch.no_grad()
def caption_conditions(reasoner, captions) -> list[torch.Tensor]:
    tok = tokenizer()
    out = []
    for cap in captions:
        ids = tok.encode(imagine_text(cap, cot=False))
        out.append(torch.from_numpy(P.generate(reasoner, ids, None, 0, stop_ids(True)).hidden))
    return out


@torch.no_grad()
def latent_pool(vae, pc, caps, jittered: bool = POOL_JITTERED) -> torch.Tensor:
    """[len(caps), POOL_SEEDS (1 when not jittered), C, h, w]"""
    out = []
    for _, n, colour, kind in caps:
        if jittered:
            imgs = [W.scene(n, colour, kind, s, "ordered")[0] for s in range(POOL_SEEDS)]
        else:
            imgs = [W.render([W.Obj(colour, kind, s) for s in range(n)], None)]
        out.append(encode_latents(vae, pc, imgs))
    return torch.stack(out)


def sample_batch(rng: random.Random, conds, pool, neg, bc: int, rep: int, p_uncond: float):
    idx = [rng.randrange(len(conds)) for _ in range(bc)]
    cs = [neg if rng.random() < p_uncond else conds[i] for i in idx]
    x1 = torch.stack([pool[i, rng.randrange(pool.shape[1])] for i in idx for _ in range(rep)])
    cp, lens = pad_conditions(cs)
    return cp, lens, x1


@torch.no_grad()
def caption_accuracy(painter, vae, pc, conds, neg, caps, every: int = 7, steps: int = 20) -> tuple[int, int]:
    sel = list(range(0, len(caps), every))
    imgs = paint(painter, vae, pc, [conds[i] for i in sel], neg, [42] * len(sel), steps, pc.default_guidance)
    ok = sum(matches(check(im), caps[i][1], caps[i][2], caps[i][3]) for im, i in zip(imgs, sel))
    return ok, len(sel)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--minutes", type=float, default=25)
    ap.add_argument("--bc", type=int, default=16, help="distinct conditions per batch")
    ap.add_argument("--rep", type=int, default=2, help="images (t, noise) per condition")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fresh", action="store_true")
    args, log = start(ap, "stage1")
    pc, reasoner, painter, vae, meta = load_models("stage0.pt", None, "vae.pt")
    log(f"loaded {meta}; vae scale {pc.vae.scaling_factor:.4f} shift {pc.vae.shift_factor:.4f}")
    assert check_cached_forward(painter) < 1e-4
    reasoner.eval()
    vae.eval()
    caps = W.all_captions()
    conds = caption_conditions(reasoner, [c[0] for c in caps])
    neg = negative_condition(reasoner, pc)
    pool = latent_pool(vae, pc, caps)
    log(f"{len(caps)} captions, condition length {conds[0].shape[0]}..{max(c.shape[0] for c in conds)}, pool {tuple(pool.shape)}")

    opt = torch.optim.AdamW(painter.parameters(), lr=args.lr, weight_decay=0.0)
    step = 0
    ck = None if args.fresh else load("stage1.pt")
    if ck is not None:
        painter.load_state_dict(ck["painter"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        log(f"resumed at step {step}")
    rng = random.Random(3000 + step)
    gen = torch.Generator().manual_seed(3000 + step)
    painter.train()
    deadline = log.t0 + 60 * args.minutes
    ema = None
    while step < args.steps and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr)
        cp, lens, x1 = sample_batch(rng, conds, pool, neg, args.bc, args.rep, 0.1)
        loss = flow_loss(painter, cp, lens, x1, args.rep, gen)
        optimise(opt, loss, painter.parameters())
        step += 1
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 25 == 0:
            log(f"step {step} loss {loss.item():.4f} ema {ema:.4f}")
        if step % 200 == 0:
            save({"painter": painter.state_dict(), "opt": opt.state_dict(), "step": step}, "stage1.pt")
        if step % 1000 == 0:
            painter.eval()
            log(f"caption image accuracy (every 7th caption, 20 steps, seed 42): {caption_accuracy(painter, vae, pc, conds, neg, caps)}")
            painter.train()
    painter.eval()
    acc = caption_accuracy(painter, vae, pc, conds, neg, caps)
    log(f"done at step {step}; caption image accuracy {acc}")
    save({"painter": painter.state_dict(), "opt": opt.state_dict(), "step": step, "caption_accuracy": acc}, "stage1.pt")


if __name__ == "__main__":
    main()
