"""World v2's evaluation (world_v2.py): one table per run, on the validation split unless told otherwise.

    PYTHONPATH=. nice -n 19 /usr/bin/python3 -m tools.shapes.eval_v2 --split validation --n 24 [--pack DIR]

Columns (image accuracy: the shapes checker reads exactly the target count, colour and kind; out of world: the
picture has no shape and, with thinking, the <answer> is world_v2.OOW_ANSWER):
  (a) held-out instances of training templates: new reasoning targets, known facts;
  (b) held-out templates: families never trained in any form (every intent but out-of-world);
  (c) held-out facts: arithmetic facts no training prompt or target contains, in training families;
  (d) colour mixing: held-out mixing requests;
  out of world; format match (the app's FORMAT_REGEX, anchored at the start) on --train_n training prompts and on
  every prompt of the split's columns, and the stricter "whole text" (the completion is exactly one think + answer).
--table FILE prints the tables again from a saved run (recomputing "whole text" from the stored completions).
Rows: no CoT (prefill only, the RGPO model), CoT after SFT (CKPT/sft.pt, when it exists), CoT after RGPO, cascade
thinking (RGPO model: the first pass's <answer>, else its <think>, goes through the reasoner again with CoT; the
second pass's states paint; format is the first pass's). A second table gives the reasoner's answer accuracy (the
<answer> text equals the target's) for the same cells, so painting and reasoning failures can be told apart.
Understanding: greedy answers to v1's questions about the split's images (exact match).
--pack evaluates a pack's own weights (tools/shapes/from_pack.py) when the checkpoints are gone: no SFT row then.
--families prints, instead, the reasoner's answer accuracy per template family on every prompt of the split's
held-out-template columns (drawing and edit; greedy CoT, nothing painted: about a minute), with a few wrong answers of
each family (which phrasings fail, and how), and whether the model answers plain questions in those families' words.
Every image uses --seed; the reasoner is greedy, 48 new tokens, and stops at </answer>.
The test split is for the final pack only: looked at once, at the end (--split test says so in its output).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time

import torch

from tools.rgvlm import pipeline as P
from tools.shapes import world as W
from tools.shapes import world_v2 as V
from tools.shapes.checker import check, matches
from tools.rgvlm.tokenizer import render_chat
from tools.shapes.data import imagine_text, pixel_values, understand_text
from tools.shapes.eval import FORMAT, pct
from tools.shapes.models import ckpt_path, load, load_models, stop_ids, tokenizer
from tools.shapes.sampling import negative_condition, paint
from tools.shapes.training import Logger

COLUMNS = [("instances", "(a) held-out instances"), ("templates", "(b) held-out templates"),
           ("facts", "(c) held-out facts"), ("mixing", "(d) colour mixing"), ("out_of_world", "out of world")]
MAX_NEW = 48
# the whole completion is one think and one answer with no tag inside either (FORMAT's lazy groups can swallow repeats)
WHOLE = re.compile(r"\s*<think>[^<]*</think>\s*<answer>[^<]*</answer>\s*")


def pick(ps: list, n: int) -> list:
    """n prompts spread evenly over the list (deterministic)."""
    return ps[:: max(1, len(ps) // n)][:n] if n > 0 else []


def answer_of(text: str) -> str | None:
    m = re.search(r"<answer>(.*?)</answer>", text, re.S)
    return m.group(1).strip() if m else None


def cascade_text(text: str) -> str:
    """What cascade thinking sends back (src/pipeline/cascade.ts): the answer, else the thinking, else the text."""
    i = text.find("<answer>")
    if i >= 0:
        rest = text[i + len("<answer>"):]
        j = rest.find("</answer>")
        return (rest[:j] if j >= 0 else rest).strip()
    m = re.search(r"<think>(.*?)</think>", text, re.S)
    return (m.group(1) if m else text).strip()


@torch.no_grad()
def generate(reasoner, pc, text: str, cot: bool):
    tok = tokenizer()
    rows = P.row_stop_ids(pc, tok.token_to_id["</answer>"])
    g = P.generate(reasoner, tok.encode(imagine_text(text, cot=cot)), None, MAX_NEW if cot else 0, stop_ids(True), rows)
    return g, tok.decode(g.generated)


@torch.no_grad()
def run(models, prompts, mode: str, steps: int, guidance: float, seed: int) -> list[dict]:
    """One record per prompt: image verdict, format, answer verdict, texts."""
    pc, reasoner, painter, vae = models
    if not prompts:
        return []
    neg = negative_condition(reasoner, pc)
    conds, recs = [], []
    for p in prompts:
        g, text = generate(reasoner, pc, p.prompt, mode != "nocot")
        rec = {"prompt": p.prompt, "template": p.template, "text": text}
        if mode == "cascade":
            sent = cascade_text(text)
            rec["sent"] = sent
            if sent:
                g, rec["second"] = generate(reasoner, pc, sent, True)
        conds.append(torch.from_numpy(g.hidden))
        recs.append(rec)
    imgs = []
    for i in range(0, len(conds), 32):
        imgs += paint(painter, vae, pc, conds[i : i + 32], neg, [seed] * len(conds[i : i + 32]), steps, guidance)
    for rec, im, p in zip(recs, imgs, prompts):
        painted_ok = matches(check(im), p.n, p.colour, p.kind)
        if mode == "nocot":
            rec.update(image=painted_ok, format=None, answer=None)
            continue
        ans = answer_of(rec["text"])
        rec["format"] = bool(FORMAT.match(rec["text"]))  # the app's FORMAT_REGEX: anchored at the start only
        rec["strict"] = bool(WHOLE.fullmatch(rec["text"]))
        rec["answer"] = ans == p.answer
        # out of world: right only when it says so and paints nothing; with cascade thinking, when the first pass
        # says so (the app takes the refusal from the first pass's answer and shows it instead of the picture,
        # src/pipeline/refusal.ts: the second pass, which reads the refusal as a request, paints nothing shown)
        if p.intent == "oow" and mode == "cascade":
            rec["image"] = rec["answer"]
        else:
            rec["image"] = painted_ok and (p.intent != "oow" or rec["answer"])
    return recs


EDIT_COLUMNS = [("edit_instances", "held-out edit tasks"), ("edit_templates", "held-out instruction templates"),
                ("edit_facts", "held-out facts")]


@torch.no_grad()
def run_edits(models, prompts, mode: str, steps: int, guidance: float, seed: int, strength: float) -> list[dict]:
    """Edit (world_v2's edit tasks): one record per (EditPrompt, image seed), as run()'s. The reasoner reads the
    picture and the instruction (CoT, or its prefill only for no CoT; cascade sends the answer back as an Imagine
    request with CoT, as the app does); the painter starts from the picture's latents at `strength` (Edit's start)."""
    from tools.shapes.sampling import encode_latents
    from tools.shapes.stage_edit import edit_text

    pc, reasoner, painter, vae = models
    if not prompts:
        return []
    tok = tokenizer()
    rows = P.row_stop_ids(pc, tok.token_to_id["</answer>"])
    neg = negative_condition(reasoner, pc)
    conds, recs, imgs = [], [], []
    for p, iseed in prompts:
        img = p.image(iseed)
        text = (edit_text(p.instruction) if mode != "nocot"
                else render_chat(P.imagine_messages(p.instruction, cot=False, with_image=True), True))
        ids = tok.encode(text.replace("<image>", "<image>" * pc.reasoner.num_image_tokens))
        g = P.generate(reasoner, ids, pixel_values([img], pc).numpy(), MAX_NEW if mode != "nocot" else 0,
                       stop_ids(True), rows)
        out = tok.decode(g.generated)
        rec = {"prompt": p.instruction, "template": p.template, "image_seed": iseed, "text": out}
        if mode == "cascade":
            sent = cascade_text(out)
            rec["sent"] = sent
            if sent:
                g, rec["second"] = generate(reasoner, pc, sent, True)
        conds.append(torch.from_numpy(g.hidden))
        recs.append(rec)
        imgs.append(img)
    out_imgs = []
    for i in range(0, len(conds), 32):
        lat = encode_latents(vae, pc, imgs[i : i + 32])
        out_imgs += paint(painter, vae, pc, conds[i : i + 32], neg, [seed] * len(lat), steps, guidance, (lat, strength))
    for rec, im, (p, _) in zip(recs, out_imgs, prompts):
        rec["image"] = matches(check(im), p.n, p.colour, p.kind)
        if mode == "nocot":
            rec.update(format=None, answer=None)
            continue
        rec["format"] = bool(FORMAT.match(rec["text"]))
        rec["strict"] = bool(WHOLE.fullmatch(rec["text"]))
        rec["answer"] = answer_of(rec["text"]) == p.answer
    return recs


def edit_table(edits: dict, split: str, strength: float) -> str:
    lines = [f"Edit ({split} split; image accuracy, then the reasoner's answer; strength {strength})", "",
             "| | " + " | ".join(f"{c}: image" for _, c in EDIT_COLUMNS) + " | "
             + " | ".join(f"{c}: answer" for _, c in EDIT_COLUMNS) + " | format |", "|---" * (2 * len(EDIT_COLUMNS) + 2) + "|"]
    for label, cols in edits.items():
        fm = [r["format"] for recs in cols.values() for r in recs if r["format"] is not None]
        cells = [pct([r["image"] for r in cols[c]]) for c, _ in EDIT_COLUMNS]
        cells += [pct([r["answer"] for r in cols[c]]) if fm else "—" for c, _ in EDIT_COLUMNS]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {pct(fm) if fm else '—'} |")
    return "\n".join(lines)


@torch.no_grad()
def format_only(models, prompts) -> list[bool]:
    pc, reasoner, _, _ = models
    return [bool(FORMAT.match(generate(reasoner, pc, p.prompt, True)[1])) for p in prompts]


@torch.no_grad()
def understanding(models, seeds) -> tuple[int, int]:
    pc, reasoner, _, _ = models
    tok = tokenizer()
    ok = tot = 0
    for seed in seeds:
        img, objs = W.mixed_scene(seed)
        pv = pixel_values([img], pc).numpy()
        for q, a in W.questions_for(objs):
            ids = tok.encode(understand_text(q, True).replace("<image>", "<image>" * pc.reasoner.num_image_tokens))
            g = P.generate(reasoner, ids, pv, 24, stop_ids(False))
            out = tok.decode([i for i in g.generated if i not in stop_ids(False)]).strip()
            ok += out == a
            tot += 1
    return ok, tot


def load_all(args, log) -> dict:
    """{row label: (models, mode)} for what exists."""
    rows = {}
    if args.pack:
        from tools.shapes.from_pack import load_pack

        m = load_pack(args.pack)
        name = os.path.basename(os.path.normpath(args.pack))
        rows[f"no CoT ({name} pack, prompt prefill only)"] = (m, "nocot")
        rows[f"CoT ({name} pack = after RGPO)"] = (m, "cot")
        rows[f"cascade thinking ({name} pack)"] = (m, "cascade")
        return rows
    found = {}
    for name in (args.sft, args.rgpo):
        if load(name) is None:
            log(f"{ckpt_path(name)} missing: no row for it")
            continue
        pc, r, p, v, _ = load_models(name, name, "vae.pt")
        for mod in (r, p, v):
            mod.eval()
        found[name] = (pc, r, p, v)
    if args.rgpo in found:
        rows["no CoT (RGPO, prompt prefill only)"] = (found[args.rgpo], "nocot")
    if args.sft in found:
        rows["CoT after SFT"] = (found[args.sft], "cot")
    if args.rgpo in found:
        rows["CoT after RGPO"] = (found[args.rgpo], "cot")
        rows["cascade thinking (RGPO)"] = (found[args.rgpo], "cascade")
    if not rows:
        raise SystemExit("nothing to evaluate: no checkpoints and no --pack")
    return rows


def tables(results: dict, split: str, fmt_train: dict, u) -> str:
    head = "| | " + " | ".join(c for _, c in COLUMNS) + f" | format, train | format, {split} | whole text, {split} |"
    sep = "|---" * (len(COLUMNS) + 4) + "|"
    lines = [f"Image accuracy ({split} split)", "", head, sep]
    for label, cols in results.items():
        fmts = [r["format"] for recs in cols.values() for r in recs if r["format"] is not None]
        strict = [r["strict"] for recs in cols.values() for r in recs if "strict" in r]
        ft = fmt_train.get(label)
        cells = [pct([r["image"] for r in cols[c]]) for c, _ in COLUMNS]
        cells += [pct(ft) if ft else "—", pct(fmts) if fmts else "—", pct(strict) if strict else "—"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"Reasoner's answer accuracy ({split} split; `<answer>` equals the target's)", "",
              "| | " + " | ".join(c for _, c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for label, cols in results.items():
        if all(r["answer"] is None for recs in cols.values() for r in recs):
            continue
        lines.append(f"| {label} | " + " | ".join(pct([r["answer"] for r in cols[c]]) for c, _ in COLUMNS) + " |")
    if u is not None:
        lines += ["", f"Understanding ({split} images): {100.0 * u[0] / max(1, u[1]):.1f}% ({u[0]}/{u[1]})"]
    return "\n".join(lines)


@torch.no_grad()
def families(models, split: str, examples: int = 2) -> str:
    """--families: answer accuracy per held-out template family (drawing and edit) on the whole split."""
    import collections

    from tools.shapes.stage_edit import edit_text

    pc, reasoner, _, _ = models
    tok = tokenizer()
    per: dict = collections.defaultdict(lambda: [0, 0, []])
    for p in V.eval_prompts(split)["templates"]:
        _, text = generate(reasoner, pc, p.prompt, True)
        cell = per[("drawing", p.template)]
        ok = answer_of(text) == p.answer
        cell[0] += ok
        cell[1] += 1
        if not ok:
            cell[2].append((p.prompt, text))
    for p, seed in V.edit_eval_prompts(split)["edit_templates"]:
        ids = tok.encode(edit_text(p.instruction).replace("<image>", "<image>" * pc.reasoner.num_image_tokens))
        g = P.generate(reasoner, ids, pixel_values([p.image(seed)], pc).numpy(), MAX_NEW, stop_ids(True))
        text = tok.decode(g.generated)
        cell = per[("edit", p.template)]
        ok = answer_of(text) == p.answer
        cell[0] += ok
        cell[1] += 1
        if not ok:
            cell[2].append((f"{p.instruction} [picture: {W.caption(p.item.n, p.item.colour, p.item.kind)}]", text))
    lines = [f"Reasoner's answer accuracy per held-out template family ({split} split, every prompt; greedy CoT)", "",
             "| | family | marker | answers right |", "|---|---|---|---|"]
    for (kind, name), (ok, tot, _) in per.items():
        marker = V.FAMILIES[name].marker if kind == "drawing" else V.EDIT_FAMILY[name].marker
        lines.append(f"| {kind} | `{name}` | \"{marker}\" | {pct([True] * ok + [False] * (tot - ok))} |")
    for kind in ("drawing", "edit"):
        cells = [c for (k, _), c in per.items() if k == kind]
        ok, tot = sum(c[0] for c in cells), sum(c[1] for c in cells)
        lines.append(f"| {kind} | all | | {pct([True] * ok + [False] * (tot - ok))} |")
    # the experiment's plain-text questions in those words (trained only with stage_edit --held_out_words): whether a
    # reasoner knows the words at all, as opposed to using them in a request
    from tools.shapes.data import reasoning_text

    rng = random.Random(12345)
    qs = [V._held_out_word_question(rng) for _ in range(120)]
    known = 0
    for q, target in qs:
        g = P.generate(reasoner, tok.encode(reasoning_text(q)), None, MAX_NEW, stop_ids(True))
        known += tok.decode(g.generated).replace("<|im_end|>", "").strip() == target
    lines += ["", f"Plain questions in those words (world_v2.HELD_OUT_WORD_QUESTIONS, {len(qs)} sampled, exact completion; "
              f"trained only by the experiment stage_edit --held_out_words): {known}/{len(qs)}"]
    lines.append("")
    for (kind, name), (_, _, bad) in per.items():
        for prompt, text in bad[:: max(1, len(bad) // examples)][:examples]:
            lines.append(f"- `{name}`: {prompt!r} -> {text!r}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["validation", "test"], default="validation")
    ap.add_argument("--n", type=int, default=48, help="prompts per column (spread evenly over the split's set)")
    ap.add_argument("--train_n", type=int, default=48, help="training prompts for the format column")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--images", type=int, default=20, help="understanding images of the split")
    ap.add_argument("--pack", default=None, help="evaluate this pack's weights instead of checkpoints")
    ap.add_argument("--sft", default="sft.pt")
    ap.add_argument("--rgpo", default="rgpo.pt")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--edit_n", type=int, default=48, help="edit tasks per edit column (0: no edit table)")
    ap.add_argument("--strength", type=float, default=None, help="Edit's strength (default: the pack config's)")
    ap.add_argument("--sections", default="imagine,edit,understanding", help="what to run (comma-separated)")
    ap.add_argument("--table", default=None, help="print the tables of a saved run (JSON) and exit")
    ap.add_argument("--families", action="store_true", help="answer accuracy per held-out template family, then exit")
    args = ap.parse_args()
    if args.table:
        with open(args.table) as f:
            saved = json.load(f)
        for cols in saved["results"].values():
            for recs in cols.values():
                for r in recs:
                    if r.get("format") is not None:
                        r["strict"] = bool(WHOLE.fullmatch(r["text"]))
        u = saved["understanding"]
        print(tables(saved["results"], saved["settings"]["split"], saved["format_train"], u))
        return
    torch.set_num_threads(args.threads)
    log = Logger("eval_v2")
    if args.families:
        rows = load_all(args, log)
        last = next(m for m, mode in reversed(list(rows.values())) if mode != "nocot")
        if args.split == "test":
            log("TEST SPLIT: for the final pack only, looked at once; choices are made on the validation split")
        print(families(last, args.split), flush=True)
        return
    if args.split == "test":
        log("TEST SPLIT: for the final pack only, looked at once; choices are made on the validation split")
    sets = V.eval_prompts(args.split)
    chosen = {c: pick(sets[c], args.n) for c, _ in COLUMNS}
    train = pick(V.train_prompts(), args.train_n)
    log(f"{args.split}: " + ", ".join(f"{c} {len(ps)}/{len(sets[c])}" for c, ps in chosen.items())
        + f"; seed {args.seed}, {args.steps} steps, guidance {args.guidance}")
    rows = load_all(args, log)
    sections = set(args.sections.split(","))
    if args.strength is None:
        from tools.shapes.models import shapes_config

        args.strength = shapes_config().default_edit_strength
    esets = V.edit_eval_prompts(args.split)
    echosen = {c: pick(esets[c], args.edit_n) for c, _ in EDIT_COLUMNS} if "edit" in sections else {}
    results, fmt_train, edits = {}, {}, {}
    for label, (models, mode) in rows.items():
        t = time.time()
        if "imagine" in sections:
            results[label] = {c: run(models, ps, mode, args.steps, args.guidance, args.seed) for c, ps in chosen.items()}
            if mode != "nocot":
                fmt_train[label] = format_only(models, train)
        if echosen and args.edit_n:
            edits[label] = {c: run_edits(models, ps, mode, args.steps, args.guidance, args.seed, args.strength)
                            for c, ps in echosen.items()}
        log(f"{label} done ({time.time() - t:.0f}s)")
    seeds = list(V.UNDERSTAND_VAL_SEEDS if args.split == "validation" else V.UNDERSTAND_TEST_SEEDS)[: args.images]
    last = next(m for m, mode in reversed(list(rows.values())) if mode != "nocot")
    u = understanding(last, seeds) if args.images and "understanding" in sections else None
    table = tables(results, args.split, fmt_train, u) if results else ""
    if edits:
        table += "\n\n" + edit_table(edits, args.split, args.strength)
    elif u is not None and not results:
        table = f"Understanding ({args.split} images): {100.0 * u[0] / max(1, u[1]):.1f}% ({u[0]}/{u[1]})"
    print(table, flush=True)
    for label, cols in results.items():
        for c, recs in cols.items():
            for r in recs[:2]:
                log(f"{label} / {c}: {r['prompt']!r} -> {r['text']!r}" + (f" -> {r.get('second')!r}" if "second" in r else ""))
    out = {
        "settings": {"split": args.split, "n": args.n, "train_n": args.train_n, "steps": args.steps,
                     "guidance": args.guidance, "seed": args.seed, "understanding_images": args.images,
                     "pack": args.pack, "threads": args.threads, "edit_n": args.edit_n, "strength": args.strength,
                     "sections": args.sections},
        "results": results, "edits": edits, "format_train": fmt_train, "understanding": list(u) if u else None, "table": table,
        "seconds": time.time() - log.t0,
    }
    path = args.out or ckpt_path(f"eval_v2_{args.split}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
