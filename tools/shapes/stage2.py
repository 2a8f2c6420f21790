"""Stage 2: supervised fine-tuning with chain-of-thought data.

  --part reasoner: the reasoner learns to answer an Imagine request (CoT system prompt) with
      `<think>2 + 3 = 5, so five red circles</think><answer>5 red circles</answer>` (training prompts only), with
      stage-0 batches (understanding, text facts) mixed in so it keeps them. Starts from CKPT/stage0.pt, writes
      CKPT/sft_reasoner.pt.
  --part painter: the painter learns to paint from the SFT reasoner's hidden states of whole CoT sequences (prompt
      + reasoning + answer, teacher-forced; `</answer>` is never fed back so it has no row), with caption
      conditions of stage 1 mixed in (half of each batch). Starts from CKPT/stage1.pt, writes CKPT/sft.pt
      ({reasoner, painter}).
  --part decoder: the VAE decoder adapts to the latents the SFT painter actually paints (the encoder, and so the
      latent space the painter was trained on, stays fixed). The painter paints training prompts (teacher-forced
      CoT) and captions from random seeds with the pack's steps and guidance; pictures whose count and colour the
      checker already reads right are kept, and their target is the world's clean render of the requested shapes,
      each placed at the jitter offset (±1 px) that best matches the painted cell. Half of each batch stays plain
      reconstruction (encoder latents + noise) so Edit keeps working. Writes CKPT/vae.pt (the previous one is kept
      as CKPT/vae_before_decoder.pt).

    nice -n 19 /usr/bin/python3 -m tools.shapes.stage2 --part reasoner --minutes 15 > /tmp/shapes_stage2_reasoner.log
    nice -n 19 /usr/bin/python3 -m tools.shapes.stage2 --part painter --minutes 20  > /tmp/shapes_stage2_painter.log
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from tools.rgvlm import pipeline as P
from tools.shapes.data import encode_pair, imagine_text, lm_batch, pixel_values, to_vae_input
from tools.shapes.models import load, load_models, save, shapes_config, stop_ids, tokenizer
from tools.shapes.painter_cache import pad_conditions
from tools.shapes.sampling import negative_condition, paint, paint_latents
from tools.shapes.training import flow_loss, lm_loss, lr_at, optimise, reasoner_forward, start, teacher_forced_conditions
from tools.shapes import stage0 as S0
from tools.shapes import stage1 as S1
from tools.shapes import world as W
from tools.shapes import world_v2 as W2
from tools.shapes.checker import check, matches


def cot_pair(p: W.Prompt):
    """(ids, reply start) of a CoT Imagine request and its target, ending with </answer> (the Imagine stop)."""
    return encode_pair(imagine_text(p.prompt, cot=True), p.target, "")


@torch.no_grad()
def cot_answer_accuracy(reasoner, prompts: list[W.Prompt]) -> tuple[int, int, int]:
    """(exact answer, format ok, total) of greedy CoT generations."""
    import re

    tok = tokenizer()
    fmt = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.S)
    ok = okf = 0
    reasoner.eval()
    for p in prompts:
        ids = tok.encode(imagine_text(p.prompt, cot=True))
        g = P.generate(reasoner, ids, None, 48, stop_ids(True))
        text = tok.decode(g.generated)
        okf += bool(fmt.fullmatch(text.strip()))
        ok += text.strip() == p.target
    reasoner.train()
    return ok, okf, len(prompts)


def train_reasoner(args, log):
    pc = shapes_config()
    _, reasoner, _, _, meta = load_models("stage0.pt", None, None)
    ck = None if args.fresh else load("sft_reasoner.pt")
    lr = args.lr or 1e-3
    opt = torch.optim.AdamW(reasoner.parameters(), lr=lr, weight_decay=0.01)
    step = 0
    if ck is not None:
        reasoner.load_state_dict(ck["reasoner"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        log(f"resumed at step {step}")
    else:
        log(f"from {meta}")
    train, held = W2.world_split(args.world)
    held_arith = [p for p in held if p.arithmetic][::12]
    facts = W.text_facts()
    rng = random.Random(4000 + step)
    reasoner.train()
    deadline = log.t0 + 60 * args.minutes
    while step < args.steps and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, lr, warmup=50)
        kind = step % 4
        pv = None
        if kind == 3:  # keep stage-0 skills
            if step % 8 == 3:
                seqs, imgs = S0.understand_batch(rng, pc, args.batch, args.world)
                pv = pixel_values(imgs, pc)
            else:
                seqs = S0.text_batch(rng, args.batch, facts)
        else:
            seqs = [cot_pair(rng.choice(train)) for _ in range(args.batch)]
        ids, am, lmask = lm_batch(seqs)
        logits, _ = reasoner_forward(reasoner, ids, am, pv)
        loss = lm_loss(logits, ids, lmask)
        optimise(opt, loss, reasoner.parameters())
        step += 1
        if step % 25 == 0:
            log(f"step {step} loss {loss.item():.4f} ({'cot' if kind < 3 else 'stage0'})")
        if step % 100 == 0:
            save({"reasoner": reasoner.state_dict(), "opt": opt.state_dict(), "step": step}, "sft_reasoner.pt")
        if step % 300 == 0:
            log(f"held-out arithmetic CoT (exact, format, n): {cot_answer_accuracy(reasoner, held_arith[: min(30, args.eval_n)])}")
    acc = cot_answer_accuracy(reasoner, held_arith[: args.eval_n])
    u = S0.understanding_accuracy(reasoner, pc, max(1, args.eval_n // 2))
    log(f"done at step {step}; held-out arithmetic CoT (exact, format, n) {acc}; understanding {u}")
    save({"reasoner": reasoner.state_dict(), "opt": opt.state_dict(), "step": step, "heldout_cot": acc,
            "understanding": u}, "sft_reasoner.pt")


def painter_setup(args, log, reasoner_from: str, painter_from: str, out: str, lr: float):
    """What a painter stage starts from: the frozen reasoner and VAE, the painter and its optimiser (resumed from
    CKPT/<out> unless --fresh), the captions with their conditions, latent pool and index, the negative condition.
    Returns (pc, reasoner, painter, vae, opt, step, caps, cap_conds, pool, cap_index, neg)."""
    pc, reasoner, painter, vae, meta = load_models(reasoner_from, painter_from, "vae.pt")
    log(f"loaded {meta}")
    reasoner.eval()
    vae.eval()
    ck = None if args.fresh else load(out)
    opt = torch.optim.AdamW(painter.parameters(), lr=lr, weight_decay=0.0)
    step = 0
    if ck is not None and "opt" in ck:
        painter.load_state_dict(ck["painter"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        log(f"resumed at step {step}")
    caps = W.all_captions()
    cap_conds = S1.caption_conditions(reasoner, [c[0] for c in caps])
    neg = negative_condition(reasoner, pc)
    pool = S1.latent_pool(vae, pc, caps)
    cap_index = {(n, c, k): i for i, (_, n, c, k) in enumerate(caps)}
    return pc, reasoner, painter, vae, opt, step, caps, cap_conds, pool, cap_index, neg


def train_painter(args, log):
    lr = args.lr or 5e-4
    pc, reasoner, painter, vae, opt, step, caps, cap_conds, pool, cap_index, neg = painter_setup(
        args, log, "sft_reasoner.pt", "stage1.pt", "sft.pt", lr)
    train, held = W2.world_split(args.world)
    held_arith = [p for p in held if p.arithmetic][::24][: args.eval_n]
    rng = random.Random(5000 + step)
    gen = torch.Generator().manual_seed(5000 + step)
    painter.train()
    deadline = log.t0 + 60 * args.minutes
    half = args.bc // 2
    cot_cache: dict[str, torch.Tensor] = {}
    while step < args.steps and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, lr, warmup=50)
        ps = [rng.choice(train) for _ in range(half)]
        todo = [k for k in dict.fromkeys(p.prompt for p in ps) if k not in cot_cache]
        if todo:  # the reasoner is frozen: each prompt's teacher-forced hidden states are computed once
            by_prompt = {p.prompt: p for p in ps}
            for k, h in zip(todo, teacher_forced_conditions(reasoner, [cot_pair(by_prompt[k])[0] for k in todo])):
                cot_cache[k] = h
        cot = [cot_cache[p.prompt] for p in ps]
        ci = [rng.randrange(len(caps)) for _ in range(args.bc - half)]
        conds = cot + [cap_conds[i] for i in ci]
        conds = [neg if rng.random() < 0.1 else c for c in conds]
        targets = [cap_index[W2.paint_key(p)] for p in ps] + ci
        x1 = torch.stack([pool[i, rng.randrange(pool.shape[1])] for i in targets for _ in range(args.rep)])
        cp, lens = pad_conditions(conds)
        loss = flow_loss(painter, cp, lens, x1, args.rep, gen)
        optimise(opt, loss, painter.parameters())
        step += 1
        if step % 25 == 0:
            log(f"step {step} loss {loss.item():.4f}")
        if step % 100 == 0:
            save({"reasoner": reasoner.state_dict(), "painter": painter.state_dict(), "opt": opt.state_dict(), "step": step}, "sft.pt")
        if step % 500 == 0:
            painter.eval()
            log(f"held-out CoT image accuracy (teacher-forced, 20 steps): {cot_image_accuracy(reasoner, painter, vae, pc, neg, held_arith)}")
            painter.train()
    painter.eval()
    acc = cot_image_accuracy(reasoner, painter, vae, pc, neg, held_arith)
    log(f"done at step {step}; held-out CoT image accuracy (teacher-forced, 20 steps) {acc}")
    save({"reasoner": reasoner.state_dict(), "painter": painter.state_dict(), "opt": opt.state_dict(), "step": step,
            "heldout_cot_image_tf": acc}, "sft.pt")


def aligned_target(painted: np.ndarray, n: int, colour: str, kind: str) -> np.ndarray:
    """The clean render of n ordered shapes, each at the jitter offset whose cell best matches `painted`."""
    objs = [W.Obj(colour, kind, s) for s in range(n)]
    img = W.render([], None, 0)
    pad = (W.CELL - W.SHAPE) // 2
    m = W.shape_mask(kind)
    for o in objs:
        y0, x0 = W.cell_origin(o.slot)
        cell = painted[y0 : y0 + W.CELL, x0 : x0 + W.CELL].astype(np.float32)
        best = None
        for dy in range(-W.JITTER, W.JITTER + 1):
            for dx in range(-W.JITTER, W.JITTER + 1):
                cand = np.empty((W.CELL, W.CELL, 3), np.float32)
                cand[:] = W.BACKGROUND
                cand[pad + dy : pad + dy + W.SHAPE, pad + dx : pad + dx + W.SHAPE][m] = W.PALETTE[colour]
                err = float(((cand - cell) ** 2).sum())
                if best is None or err < best[0]:
                    best = (err, dy, dx)
        _, dy, dx = best
        y, x = y0 + pad + dy, x0 + pad + dx
        img[y : y + W.SHAPE, x : x + W.SHAPE][m] = W.PALETTE[colour]
    return img


@torch.no_grad()
def painted_pool(reasoner, painter, vae, pc, neg, n_items: int, rng: random.Random, log, world: str = "v1"):
    """(decoder inputs, target images) of painted pictures whose count and colour the checker reads right."""
    caps = W.all_captions()
    train, _ = W2.world_split(world)
    cap_conds = S1.caption_conditions(reasoner, [c[0] for c in caps])
    zs, targets, seen = [], [], 0
    while seen < n_items:
        ps = [rng.choice(train) for _ in range(16)]
        ci = [rng.randrange(len(caps)) for _ in range(16)]
        conds = teacher_forced_conditions(reasoner, [cot_pair(p)[0] for p in ps]) + [cap_conds[i] for i in ci]
        want = [W2.paint_key(p) for p in ps] + [caps[i][1:] for i in ci]
        seeds = [rng.randrange(1 << 31) for _ in conds]
        z = paint_latents(painter, pc, conds, neg, seeds, pc.default_steps, pc.default_guidance)
        x = vae.decoder(z).numpy()
        for i, (n, colour, kind) in enumerate(want):
            img = P.to_pixels(x[i : i + 1])
            objs = check(img)["objects"]
            if len(objs) == n and all(o["colour"] == colour for o in objs):
                zs.append(z[i])
                targets.append(aligned_target(img, n, colour, kind))
        seen += len(want)
        log(f"painted {seen}: kept {len(zs)}")
    return torch.stack(zs), targets


def train_decoder(args, log):
    pc, reasoner, painter, vae, meta = load_models("sft.pt", "sft.pt", "vae.pt")
    log(f"loaded {meta}")
    for m in (reasoner, painter, vae):
        m.eval()
    ck = load("vae.pt")
    save(ck, "vae_before_decoder.pt")
    neg = negative_condition(reasoner, pc)
    train, held = W2.world_split(args.world)
    held_arith = [p for p in held if p.arithmetic][::8][: args.eval_n]
    before = cot_image_accuracy(reasoner, painter, vae, pc, neg, held_arith, steps=pc.default_steps)
    log(f"held-out CoT image accuracy (teacher-forced, {pc.default_steps} steps) before: {before}")
    rng = random.Random(7000)
    gen = torch.Generator().manual_seed(7000)
    zs, targets = painted_pool(reasoner, painter, vae, pc, neg, args.pool, rng, log, args.world)
    ty = to_vae_input(targets)
    for p in vae.encoder.parameters():
        p.requires_grad_(False)
    lr = args.lr or 5e-4
    opt = torch.optim.AdamW(vae.decoder.parameters(), lr=lr, weight_decay=0.0)
    half = args.batch // 2
    deadline = log.t0 + 60 * args.minutes
    step = 0
    vae.decoder.train()
    while step < args.steps and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, lr, warmup=50)
        pi = torch.tensor([rng.randrange(len(zs)) for _ in range(half)])
        imgs = [S0.random_scene(rng)[0] for _ in range(args.batch - half)]
        x = to_vae_input(imgs)
        with torch.no_grad():
            m = vae.encoder(x)
        z = torch.cat([zs[pi], m + 0.1 * torch.randn(m.shape, generator=gen)])
        y = vae.decoder(z)
        t = torch.cat([ty[pi], x])
        loss = F.mse_loss(y, t) + 0.5 * (y - t).abs().mean()
        optimise(opt, loss)
        step += 1
        if step % 50 == 0:
            log(f"step {step} loss {loss.item():.4f}")
    vae.decoder.eval()
    after = cot_image_accuracy(reasoner, painter, vae, pc, neg, held_arith, steps=pc.default_steps)
    ok, tot = S0.recon_accuracy(vae)
    log(f"done at step {step}: held-out CoT image accuracy before {before}, after {after}; checker on reconstructions {ok}/{tot}")
    save({**ck, "vae": vae.state_dict(), "decoder_adapted": {"steps": step, "pool": len(zs), "before": before,
            "after": after}, "recon_checker": [ok, tot]}, "vae.pt")


@torch.no_grad()
def cot_image_accuracy(reasoner, painter, vae, pc, neg, prompts, steps: int = 20):
    conds = teacher_forced_conditions(reasoner, [cot_pair(p)[0] for p in prompts])
    imgs = paint(painter, vae, pc, conds, neg, [42] * len(prompts), steps, pc.default_guidance)
    return sum(matches(check(im), p.n, p.colour, p.kind) for im, p in zip(imgs, prompts)), len(prompts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["reasoner", "painter", "decoder"], required=True)
    ap.add_argument("--pool", type=int, default=1536, help="--part decoder: pictures painted for the pool")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--bc", type=int, default=16)
    ap.add_argument("--rep", type=int, default=2)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval_n", type=int, default=60, help="held-out prompts in the progress evaluations")
    ap.add_argument("--world", choices=["v1", "v2"], default="v1", help="prompt world (v1: the shipped pack's; see world_v2.py)")
    ap.add_argument("--fresh", action="store_true")
    args, log = start(ap, "stage2", part=True)
    {"reasoner": train_reasoner, "painter": train_painter, "decoder": train_decoder}[args.part](args, log)


if __name__ == "__main__":
    main()
