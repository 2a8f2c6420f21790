"""Stage 0: the VAE, and the reasoner's language and vision (captions, questions, answers).

    nice -n 19 /usr/bin/python3 -m tools.shapes.stage0 --part vae --minutes 10      > /tmp/shapes_stage0_vae.log
    nice -n 19 /usr/bin/python3 -m tools.shapes.stage0 --part reasoner --minutes 30 > /tmp/shapes_stage0_reasoner.log

Writes CKPT/vae.pt ({vae, scaling_factor, shift_factor}) and CKPT/stage0.pt ({reasoner}). Resumes from the
checkpoint when it exists (--fresh to start over). Stops at --steps or after --minutes, whichever comes first.
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import torch
import torch.nn.functional as F

from tools.shapes.data import encode_pair, lm_batch, pixel_values, to_vae_input, understand_text
from tools.shapes.models import fresh_models, load, save, shapes_config, stop_ids, tokenizer
from tools.shapes.training import lm_loss, lr_at, optimise, reasoner_forward, start
from tools.shapes import world as W
from tools.shapes import world_v2 as W2
from tools.shapes.checker import check, counts_from_objs


def random_scene(rng: random.Random):
    if rng.random() < 0.5:
        n = rng.randint(0, W.MAX_COUNT)
        return W.scene(n, rng.choice(W.COLOURS), rng.choice(W.KINDS), rng.randrange(1 << 30), rng.choice(["ordered", "random"]))
    return W.mixed_scene(rng.randrange(1 << 30))


@torch.no_grad()
def recon_accuracy(vae, batches: int = 4) -> tuple[int, int]:
    """(right, total): the checker on reconstructions of `batches` x 64 random scenes (seed 99), read as on the
    originals' objects."""
    from tools.rgvlm.pipeline import to_pixels

    ok = tot = 0
    erng = random.Random(99)
    for _ in range(batches):
        batch = [random_scene(erng) for _ in range(64)]
        y = vae.decoder(vae.encoder(to_vae_input([b[0] for b in batch]))).numpy()
        for i, (_, objs) in enumerate(batch):
            ok += check(to_pixels(y[i : i + 1]))["counts"] == counts_from_objs(objs)
            tot += 1
    return ok, tot


# --------------------------------------------------------------------------------------------- VAE
def train_vae(args, log):
    pc = shapes_config()
    _, _, vae = fresh_models()
    ck = None if args.fresh else load("vae.pt")
    step = 0
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr or 2e-3, weight_decay=0.0)
    if ck is not None:
        vae.load_state_dict(ck["vae"])
        if not args.decoder_only or ck.get("decoder_only"):
            opt.load_state_dict(ck["opt"])
        step = ck["step"]
        log(f"resumed at step {step}")
    if args.decoder_only:
        # the latent space stays exactly as it is (a painter trained on it keeps working); only the decoder learns
        for p in vae.encoder.parameters():
            p.requires_grad_(False)
        if ck is None or not ck.get("decoder_only"):
            opt = torch.optim.AdamW(vae.decoder.parameters(), lr=args.lr or 1e-3, weight_decay=0.0)
    ck_scale = (ck["scaling_factor"], ck["shift_factor"]) if ck is not None else (1.0, 0.0)
    rng = random.Random(1000 + step)
    gen = torch.Generator().manual_seed(1000 + step)
    vae.train()
    deadline = log.t0 + 60 * args.minutes
    import time

    while step < args.steps and time.time() < deadline:
        imgs = [random_scene(rng)[0] for _ in range(args.batch)]
        x = to_vae_input(imgs)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr or 2e-3)
        with torch.set_grad_enabled(not args.decoder_only):
            m = vae.encoder(x)
        z = m + 0.1 * torch.randn(m.shape, generator=gen)  # decoder robust to imperfect latents
        y = vae.decoder(z)
        rec = F.mse_loss(y, x) + 0.5 * (y - x).abs().mean()
        loss = rec + 1e-3 * m.pow(2).mean()
        optimise(opt, loss)
        step += 1
        if step % 50 == 0:
            log(f"step {step} rec {rec.item():.4f} |m|2 {m.pow(2).mean().item():.3f}")
        if step % 200 == 0:
            save({"vae": vae.state_dict(), "opt": opt.state_dict(), "step": step, "decoder_only": args.decoder_only,
                    "scaling_factor": ck_scale[0], "shift_factor": ck_scale[1]}, "vae.pt")
    vae.eval()
    # latent statistics -> scale / shift (latents = (mean - shift) * scale have unit variance)
    srng = random.Random(5)
    with torch.no_grad():
        m = vae.encoder(to_vae_input([random_scene(srng)[0] for _ in range(256)]))
    shift = float(m.mean())
    scale = float(1.0 / m.std())
    ok, tot = recon_accuracy(vae, args.recon_batches)
    log(f"done at step {step}: scale {scale:.4f} shift {shift:.4f}; checker on reconstructions {ok}/{tot}")
    if args.decoder_only:
        assert abs(scale - ck_scale[0]) < 1e-6 and abs(shift - ck_scale[1]) < 1e-6, "the encoder moved"
    save({"vae": vae.state_dict(), "opt": opt.state_dict(), "step": step, "scaling_factor": scale, "shift_factor": shift,
            "recon_checker": [ok, tot], "decoder_only": args.decoder_only}, "vae.pt")


# --------------------------------------------------------------------------------------------- reasoner
def understand_batch(rng: random.Random, pc, n: int, world: str = "v1"):
    seqs, imgs = [], []
    for _ in range(n):
        img, objs = W2.understanding_scene(world, rng)
        q, a = rng.choice(W.questions_for(objs))
        seqs.append(encode_pair(understand_text(q, True), a, "<|im_end|>"))
        imgs.append(img)
    return seqs, imgs


def text_batch(rng: random.Random, n: int, facts):
    seqs = []
    for _ in range(n):
        q, a = rng.choice(facts)
        seqs.append(encode_pair(understand_text(q, False), a, "<|im_end|>"))
    return seqs


@torch.no_grad()
def understanding_accuracy(reasoner, pc, n_images: int = 40) -> tuple[int, int]:
    from tools.rgvlm import pipeline as P

    tok = tokenizer()
    ok = tot = 0
    reasoner.eval()
    for seed in list(W.UNDERSTAND_EVAL_SEEDS)[:n_images]:
        img, objs = W.mixed_scene(seed)
        pv = pixel_values([img], pc).numpy()
        for q, a in W.questions_for(objs)[:4]:
            ids = tok.encode(understand_text(q, True).replace("<image>", "<image>" * pc.reasoner.num_image_tokens))
            g = P.generate(reasoner, ids, pv, 16, stop_ids(False))
            out = tok.decode([i for i in g.generated if i not in stop_ids(False)]).strip()
            ok += out == a
            tot += 1
    reasoner.train()
    return ok, tot


def train_reasoner(args, log):
    import time

    pc = shapes_config()
    reasoner, _, _ = fresh_models()
    out = "vision.pt" if args.vision_only else "stage0.pt"
    ck = None if args.fresh else load(out)
    step = 0
    lr = args.lr or 2e-3
    params = list(reasoner.parameters())
    if args.vision_only:
        # understanding only, vision tower + projector only: text-only prompts (Imagine) keep exactly the same
        # hidden states, so a painter trained on them is unaffected. Starts from --vision_base.
        base = load(args.vision_base)["reasoner"]
        # a base with another vision input (VISION_INPUTS) keeps its text decoder and every vision tensor whose
        # shape still fits; the rest (the patch embedding) starts fresh
        own = reasoner.state_dict()
        fits = {k: v for k, v in base.items() if k in own and own[k].shape == v.shape}
        fresh = sorted(set(own) - set(fits))
        assert all(k.startswith("vision.") for k in fresh), fresh
        reasoner.load_state_dict(fits, strict=False)
        if fresh:
            log(f"vision tensors not in the base (fresh): {fresh}")
        params = list(reasoner.vision.parameters())
        for p in reasoner.lm.parameters():
            p.requires_grad_(False)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    if ck is not None:
        reasoner.load_state_dict(ck["reasoner"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        log(f"resumed at step {step}")
    facts = W.text_facts()
    rng = random.Random(2000 + step)
    reasoner.train()
    deadline = log.t0 + 60 * args.minutes
    while step < args.steps and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, lr)
        if step % 2 == 0 or args.vision_only:
            seqs, imgs = understand_batch(rng, pc, args.batch, args.world)
            pv = pixel_values(imgs, pc)
        else:
            seqs, pv = text_batch(rng, args.batch, facts), None
        ids, am, lmask = lm_batch(seqs)
        logits, _ = reasoner_forward(reasoner, ids, am, pv)
        loss = lm_loss(logits, ids, lmask)
        optimise(opt, loss, params)
        step += 1
        if step % 25 == 0:
            log(f"step {step} loss {loss.item():.4f} ({'image' if step % 2 == 1 or args.vision_only else 'text'})")
        if step % 200 == 0:
            save({"reasoner": reasoner.state_dict(), "opt": opt.state_dict(), "step": step}, out)
        if step % 500 == 0:
            log(f"understanding (40 eval images x 4 questions): {understanding_accuracy(reasoner, pc)}")
    acc = understanding_accuracy(reasoner, pc, args.eval_images)
    log(f"done at step {step}; understanding {acc}")
    save({"reasoner": reasoner.state_dict(), "opt": opt.state_dict(), "step": step, "understanding": acc}, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["vae", "reasoner"], required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--recon_batches", type=int, default=4, help="64-image batches in the VAE's final checker test")
    ap.add_argument("--eval_images", type=int, default=40, help="held-out images in the final understanding check")
    ap.add_argument("--vision_only", action="store_true", help="reasoner: understanding batches, vision tower only -> CKPT/vision.pt")
    ap.add_argument("--vision_base", default="sft_reasoner.pt", help="--vision_only starts from this checkpoint's reasoner")
    ap.add_argument("--decoder_only", action="store_true", help="VAE: train the decoder only (keeps the latent space)")
    ap.add_argument("--world", choices=["v1", "v2"], default="v1", help="reasoner: v2 never trains on a v2 validation or test image")
    ap.add_argument("--fresh", action="store_true")
    args, log = start(ap, "stage0", part=True)
    np.random.seed(0)
    (train_vae if args.part == "vae" else train_reasoner)(args, log)


if __name__ == "__main__":
    main()
