"""Evaluation on held-out prompts with fixed seeds; prints one table (markdown) and writes it as JSON.

    nice -n 19 /usr/bin/python3 -m tools.shapes.eval [--n 96] [--steps 50] [--guidance 3] > /tmp/shapes_eval.log

Rows (image accuracy = the shapes checker reads exactly the target count, colour and kind; seed 42 for every image;
reasoner greedy, max 48 new tokens, Imagine stops at </answer>):
  - no CoT: plain system prompt, condition = the prompt's prefill hidden states (no reasoning), RGPO checkpoint
    (the shipped pack);
  - CoT after SFT: CoT system prompt, the reasoner thinks then answers, condition = prompt + generated tokens,
    CKPT/sft.pt;
  - CoT after RGPO: the same with CKPT/rgpo.pt;
  - format-match rate: the paper's regex on the CoT generations (SFT and RGPO);
  - understanding accuracy: greedy answers to questions about held-out images (exact match).
Prompts: every k-th held-out arithmetic prompt (sums, differences, word problems, comparisons; never trained on),
plus the held-out colour-mixing prompts in a separate column.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import torch

from tools.rgvlm import pipeline as P
from tools.shapes.data import imagine_text, pixel_values, understand_text
from tools.shapes.models import ckpt_path, load_models, stop_ids, tokenizer
from tools.shapes.sampling import negative_condition, paint
from tools.shapes.training import Logger
from tools.shapes import world as W
from tools.shapes.checker import check, matches

FORMAT = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.S)


def eval_prompts(n: int) -> tuple[list[W.Prompt], list[W.Prompt]]:
    _, held = W.split_prompts()
    arith = [p for p in held if p.arithmetic]
    step = max(1, len(arith) // n)
    return arith[::step][:n], [p for p in held if p.template == "mix"]


@torch.no_grad()
def run_images(reasoner, painter, vae, pc, prompts, cot: bool, steps: int, guidance: float, seed: int):
    tok = tokenizer()
    neg = negative_condition(reasoner, pc)
    conds, texts = [], []
    for p in prompts:
        ids = tok.encode(imagine_text(p.prompt, cot=cot))
        g = P.generate(reasoner, ids, None, 48 if cot else 0, stop_ids(True))
        conds.append(torch.from_numpy(g.hidden))
        texts.append(tok.decode(g.generated))
    imgs = []
    for i in range(0, len(conds), 32):
        imgs += paint(painter, vae, pc, conds[i : i + 32], neg, [seed] * len(conds[i : i + 32]), steps, guidance)
    ok = [matches(check(im), p.n, p.colour, p.kind) for im, p in zip(imgs, prompts)]
    fmt = [bool(FORMAT.match(t)) for t in texts]  # anchored at the start, as the app's FORMAT_REGEX
    return ok, fmt, texts, imgs


@torch.no_grad()
def understanding(reasoner, pc, n_images: int) -> tuple[int, int]:
    tok = tokenizer()
    ok = tot = 0
    for seed in list(W.UNDERSTAND_EVAL_SEEDS)[:n_images]:
        img, objs = W.mixed_scene(seed)
        pv = pixel_values([img], pc).numpy()
        for q, a in W.questions_for(objs):
            ids = tok.encode(understand_text(q, True).replace("<image>", "<image>" * pc.reasoner.num_image_tokens))
            g = P.generate(reasoner, ids, pv, 24, stop_ids(False))
            out = tok.decode([i for i in g.generated if i not in stop_ids(False)]).strip()
            ok += out == a
            tot += 1
    return ok, tot


def pct(xs) -> str:
    return f"{100.0 * sum(xs) / max(1, len(xs)):.1f}% ({sum(xs)}/{len(xs)})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=96, help="held-out arithmetic prompts")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--images", type=int, default=50, help="held-out images for understanding")
    ap.add_argument("--sft", default="sft.pt")
    ap.add_argument("--rgpo", default="rgpo.pt")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    log = Logger("eval")
    arith, mix = eval_prompts(args.n)
    log(f"{len(arith)} held-out arithmetic prompts, {len(mix)} held-out colour-mixing prompts, seed {args.seed}, "
        f"{args.steps} steps, guidance {args.guidance}")
    rows = {}
    models = {}
    for name in (args.sft, args.rgpo):
        pc, r, p, v, meta = load_models(name, name, "vae.pt")
        for m in (r, p, v):
            m.eval()
        models[name] = (pc, r, p, v, meta)
    t = time.time()
    pc, r, p, v, _ = models[args.rgpo]
    ok, _, _, _ = run_images(r, p, v, pc, arith, False, args.steps, args.guidance, args.seed)
    okm, _, _, _ = run_images(r, p, v, pc, mix, False, args.steps, args.guidance, args.seed)
    rows["no CoT (RGPO pack, prompt prefill only)"] = {"arith": ok, "mix": okm, "format": None}
    log(f"no CoT done ({time.time() - t:.0f}s)")
    samples = {}
    for label, name in (("CoT after SFT", args.sft), ("CoT after RGPO", args.rgpo)):
        pc, r, p, v, _ = models[name]
        ok, fmt, texts, _ = run_images(r, p, v, pc, arith, True, args.steps, args.guidance, args.seed)
        okm, fmtm, _, _ = run_images(r, p, v, pc, mix, True, args.steps, args.guidance, args.seed)
        rows[label] = {"arith": ok, "mix": okm, "format": fmt + fmtm}
        samples[label] = [(a.prompt, t_) for a, t_ in zip(arith[:5], texts[:5])]
        log(f"{label} done ({time.time() - t:.0f}s)")
    pc, r, _, _, _ = models[args.rgpo]
    u = understanding(r, pc, args.images)
    lines = [
        "| | image accuracy, held-out arithmetic | image accuracy, held-out colour mixing | format match |",
        "|---|---|---|---|",
    ]
    for label, row in rows.items():
        f = "—" if row["format"] is None else pct(row["format"])
        lines.append(f"| {label} | {pct(row['arith'])} | {pct(row['mix'])} | {f} |")
    lines.append(f"| understanding accuracy (held-out images, RGPO pack) | {100.0 * u[0] / max(1, u[1]):.1f}% ({u[0]}/{u[1]}) | | |")
    table = "\n".join(lines)
    print(table, flush=True)
    for label, s in samples.items():
        for prompt, text in s:
            log(f"{label}: {prompt!r} -> {text!r}")
    out = {
        "settings": {"n_arith": len(arith), "n_mix": len(mix), "steps": args.steps, "guidance": args.guidance,
                     "seed": args.seed, "understanding_images": args.images},
        "rows": {k: {kk: (None if vv is None else [int(x) for x in vv]) for kk, vv in v_.items()} for k, v_ in rows.items()},
        "understanding": list(u),
        "table": table,
        "seconds": time.time() - log.t0,
    }
    with open(args.out or ckpt_path("eval.json"), "w") as f:
        json.dump(out, f, indent=1)
    log(f"wrote {args.out or ckpt_path('eval.json')}")


if __name__ == "__main__":
    main()
