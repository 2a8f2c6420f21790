"""Exports the trained shapes model as a pack (public/models/shapes/) through the shared exporter: tokenizer, HF
configs, the six ONNX files, painter safetensors (f32, int8, int4), manifest.json and a pack card README.md with
the evaluation table (CKPT/eval.json, written by tools/shapes/eval.py).

    nice -n 19 /usr/bin/python3 -m tools.shapes.make_pack [--from rgpo.pt] [--out public/models/shapes] [--world v2]

Refuses to write into public/ without an evaluation (--allow-unevaluated writes elsewhere only).

--world v2 (world_v2.py; default v1, the shipped pack): the examples and placeholders are phrased from v2's
training items and families only, eval/set.json (version 2) is built from CKPT/eval_v2_test.json (eval_v2 --split
test on the same checkpoints) with every prompt tagged by its column, and the manifest declares the out-of-world
refusal (`refusal.answer_prefix`) so the app shows that answer as text.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import warnings

from tools.rgvlm.pack import list_files, write_json, write_manifest, write_model_files
from tools.rgvlm.png import encode_png
from tools.shapes.models import ckpt_path, load_models, tokenizer
from tools.shapes import world as W

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = [
    "draw as many red circles as 2 plus 3",
    "draw 7 minus 4 blue squares",
    "draw 3 triangles in the colour you get mixing blue and yellow",
    "draw the larger of 3 and 6 purple circles",
    "there are 9 green triangles and 4 roll away. draw the ones left",
]
# What the studio shows where the user types (manifest `inputs`): the shapes world's words, as trained.
INPUTS = {
    "prompt": {"placeholder": "Counted, coloured shapes, e.g. draw 7 minus 4 blue squares"},
    "instruction": {
        "placeholder": "What to draw from this image, e.g. draw 4 green squares",
        "examples": ["draw 4 green squares", "draw as many orange triangles as 1 plus 2"],
    },
    "question": {
        "placeholder": "Ask about its shapes, e.g. how many shapes are there?",
        "examples": [
            "how many shapes are there?",
            "how many red shapes are there?",
            "what colour are the circles?",
            "what shape are the blue shapes?",
            "describe the picture",
        ],
    },
}


def write_eval_set(pack: str, ev: dict) -> None:
    """eval/set.json (+ eval/u_NNN.png): the held-out prompts, questions and settings of tools/shapes/eval.py and its
    PyTorch results, so `rg eval --pack shapes` reproduces the table in the browser pipeline (docs/formats.md)."""
    from tools.shapes.eval import eval_prompts

    st = ev["settings"]
    arith, mix = eval_prompts(st["n_arith"])
    os.makedirs(os.path.join(pack, "eval"))
    understanding = []
    for i, seed in enumerate(list(W.UNDERSTAND_EVAL_SEEDS)[: st["understanding_images"]]):
        img, objs = W.mixed_scene(seed)
        name = f"eval/u_{i:03d}.png"
        with open(os.path.join(pack, name), "wb") as f:
            f.write(encode_png(img))
        understanding.append({"image": name, "questions": [{"question": q, "answer": a} for q, a in W.questions_for(objs)]})

    def item(p):
        return {"prompt": p.prompt, "n": p.n, "colour": p.colour, "kind": p.kind, "template": p.template}

    write_json(os.path.join(pack, "eval", "set.json"), {
        "format": "rg-shapes-eval", "version": 1,
        "settings": {"seed": st["seed"], "steps": st["steps"], "guidance": st["guidance"], "max_new_tokens": 48,
                     "understand_max_new_tokens": 24},
        "arithmetic": [item(p) for p in arith],
        "mixing": [item(p) for p in mix],
        "understanding": understanding,
        "pytorch": {"rows": ev["rows"], "understanding": ev["understanding"], "table": ev["table"]},
    })


# eval_v2's rows that a pack (the RGPO checkpoint) reproduces in the browser
V2_NO_COT = "no CoT (RGPO, prompt prefill only)"
V2_COT = "CoT after RGPO"
V2_INTENTS = ("add", "sub", "mix", "larger", "smaller", "direct")
# manifest `refusal`: an answer starting with this is world v2's out-of-world answer, which the app shows as text
V2_REFUSAL_PREFIX = "I can only draw"


# The families a v2 pack's examples are phrased from: the hand-written ones of the first v2 packs (not the grammar
# of requests nor the bare caption), in their order, so the examples stay the same as families are added.
EXAMPLE_FAMILIES = ("direct_plain", "direct_of_them", "add_as_many", "add_count", "add_word", "add_i_have", "sub_minus",
                    "sub_roll_away", "sub_give_away", "sub_take_away", "sub_name_loses", "larger_of", "larger_q",
                    "smaller_of", "smaller_q", "mix_you_get", "mix_made_by")
EXAMPLE_EDIT_FAMILIES = ("ed_make_colour", "ed_them_colour", "ed_colour_them", "ed_change_colour", "ed_add_more",
                         "ed_add_shapes", "ed_put_in", "ed_take_away", "ed_remove_of", "ed_take_away_shapes",
                         "ed_turn_into", "ed_make_kind", "ed_change_to")


def v2_phrase(rng: random.Random, intent: str):
    """One training item of `intent` phrased by one of its training families, with a tidy surface (digits, "plus",
    no odd spaces): what a v2 pack may show users. Never a validation or test item, a held-out family or fact."""
    from tools.shapes import world_v2 as V

    items = [it for it in V.trainable_items() if it.intent == intent and it.n > 0]
    it = rng.choice(items)
    fam = rng.choice([f for f in V.families_for(intent, False) if f in EXAMPLE_FAMILIES])
    s = V.Surface(rng.randrange(len(V.VERBS)), False, 0, rng.random() < 0.5, rng.choice(("", ".")), 0)
    p = V.phrase(fam, it, s, "train", "train")
    assert V.split_of(it) == "train" and fam not in V.HELDOUT_FAMILIES and it.fact not in V.HELDOUT_FACTS, p
    return p


def v2_edit_phrase(rng: random.Random, op: str) -> str:
    """One training edit task's instruction (a training family, a tidy surface): what a v2 pack may show users."""
    from tools.shapes import world_v2 as V

    items = [it for it in V.edit_train_items() if it.op == op]
    it = rng.choice(items)
    fam = rng.choice([f for f in V.edit_families(op, False) if f.name in EXAMPLE_EDIT_FAMILIES])
    p = V.phrase_edit(fam, it, V.Surface(0, False, 0, False, "", 0), "train", "train")
    assert V.edit_split(it) == "train" and not fam.heldout, p
    return p.instruction


def v2_hints(edits: bool = True) -> tuple[list[str], dict]:
    """(examples, inputs) of a v2 pack, drawn from v2's training prompts with a fixed seed. edits: the pack was
    trained on world v2's edit tasks, so Edit's examples are edit instructions (else drawing requests)."""
    rng = random.Random("make_pack v2 examples")
    examples = [v2_phrase(rng, i).prompt for i in V2_INTENTS]
    if edits:
        erng = random.Random("make_pack v2 edit examples")
        instructions = [v2_edit_phrase(erng, op) for op in ("recolour", "add", "remove", "reshape")]
        edit_hint = f"How to change this picture, e.g. {instructions[0]}"
    else:
        instructions = [v2_phrase(rng, i).prompt for i in ("direct", "add")]
        edit_hint = f"What to draw from this image, e.g. {instructions[0]}"
    inputs = {
        "prompt": {"placeholder": f"Counted, coloured shapes, e.g. {examples[1]}"},
        "instruction": {"placeholder": edit_hint, "examples": instructions},
        "question": INPUTS["question"],  # v2 keeps v1's understanding questions
    }
    return examples, inputs


def write_eval_set_v2(pack: str, ev: dict) -> None:
    """eval/set.json version 2 (+ eval/u_NNN.png): the test split's prompts that eval_v2 ran (the same `pick` per
    column), each tagged with its column, with eval_v2's per-prompt PyTorch verdicts of the RGPO checkpoint, so
    `rg eval` prints eval_v2's columns for the browser pipeline beside PyTorch's (docs/formats.md)."""
    from tools.shapes import eval_v2 as E
    from tools.shapes import world_v2 as V

    st = ev["settings"]
    if st.get("split") != "test" or st.get("pack"):
        raise SystemExit("--world v2 needs eval_v2 --split test run on the checkpoints (not on a pack's weights)")
    missing = [r for r in (V2_NO_COT, V2_COT) if r not in ev["results"]]
    if missing:
        raise SystemExit(f"the evaluation has no row {missing}: it did not run on CKPT/rgpo.pt")
    sets = V.eval_prompts("test")
    prompts, nocot, cot = [], [], {"image": [], "format": [], "answer": []}
    for key, _ in E.COLUMNS:
        chosen = E.pick(sets[key], st["n"])
        a, b = ev["results"][V2_NO_COT][key], ev["results"][V2_COT][key]
        if [r["prompt"] for r in a] != [p.prompt for p in chosen] or [r["prompt"] for r in b] != [p.prompt for p in chosen]:
            raise SystemExit(f"column {key}: the evaluation's prompts are not world_v2's test prompts (another world version?)")
        for p, ra, rb in zip(chosen, a, b):
            prompts.append({"prompt": p.prompt, "n": p.n, "colour": p.colour, "kind": p.kind, "template": p.template,
                            "intent": p.intent, "column": key, "answer": p.answer})
            nocot.append(int(ra["image"]))
            for k in cot:
                cot[k].append(int(rb[k]))
    os.makedirs(os.path.join(pack, "eval"))
    columns = [{"key": k, "label": label} for k, label in E.COLUMNS]
    # edit tasks (when the evaluation ran them): the picture as eval/e_NNN.png, the instruction as the prompt
    edits = ev.get("edits") or {}
    if edits:
        esets = V.edit_eval_prompts("test")
        for r in (V2_NO_COT, V2_COT):
            if r not in edits:
                raise SystemExit(f"the evaluation's edit table has no row {r!r}")
        k = 0
        for key, label in E.EDIT_COLUMNS:
            chosen = E.pick(esets[key], st["edit_n"])
            a, b = edits[V2_NO_COT][key], edits[V2_COT][key]
            if [r["prompt"] for r in b] != [p.instruction for p, _ in chosen] or len(a) != len(chosen):
                raise SystemExit(f"column {key}: the evaluation's edit tasks are not world_v2's test tasks")
            columns.append({"key": key, "label": f"edit: {label}"})
            for (p, seed), ra, rb in zip(chosen, a, b):
                name = f"eval/e_{k:03d}.png"
                k += 1
                with open(os.path.join(pack, name), "wb") as f:
                    f.write(encode_png(p.image(seed)))
                prompts.append({"prompt": p.instruction, "n": p.n, "colour": p.colour, "kind": p.kind,
                                "template": p.template, "intent": f"edit_{p.op}", "column": key, "answer": p.answer,
                                "image": name, "strength": st["strength"]})
                nocot.append(int(ra["image"]))
                for c in cot:
                    cot[c].append(int(rb[c]))
    understanding = []
    for i, seed in enumerate(list(V.UNDERSTAND_TEST_SEEDS)[: st["understanding_images"] if ev["understanding"] else 0]):
        img, objs = W.mixed_scene(seed)
        name = f"eval/u_{i:03d}.png"
        with open(os.path.join(pack, name), "wb") as f:
            f.write(encode_png(img))
        understanding.append({"image": name, "questions": [{"question": q, "answer": a} for q, a in W.questions_for(objs)]})
    write_json(os.path.join(pack, "eval", "set.json"), {
        "format": "rg-shapes-eval", "version": 2, "world": "v2", "split": "test",
        "settings": {"seed": st["seed"], "steps": st["steps"], "guidance": st["guidance"], "max_new_tokens": E.MAX_NEW,
                     "understand_max_new_tokens": 24},
        "columns": columns,
        "prompts": prompts,
        "understanding": understanding,
        "pytorch": {"rows": {V2_NO_COT: {"image": nocot}, V2_COT: cot},
                    "understanding": list(ev["understanding"] or [0, 0]), "table": ev["table"]},
    })


def card(meta: dict, ev: dict | None, total: int, src: str, examples: list[str] = EXAMPLES, world: str = "v1") -> str:
    table = ev["table"] if ev else "(not evaluated)"
    s = ev["settings"] if ev else {}
    if world == "v1":
        title = f"Evaluation (held-out prompts, seed {s.get('seed')}, {s.get('steps')} steps, guidance {s.get('guidance')})"
        command = (f"nice -n 19 /usr/bin/python3 -m tools.shapes.eval --n {s.get('n_arith')} --steps {s.get('steps')} "
                   f"--guidance {s.get('guidance')} --seed {s.get('seed')}")
    else:
        title = (f"Evaluation (world v2, {s.get('split')} split, seed {s.get('seed')}, {s.get('steps')} steps, "
                 f"guidance {s.get('guidance')})")
        command = (f"nice -n 19 /usr/bin/python3 -m tools.shapes.eval_v2 --split {s.get('split')} --n {s.get('n')} "
                   f"--train_n {s.get('train_n')} --images {s.get('understanding_images')} --steps {s.get('steps')} "
                   f"--guidance {s.get('guidance')} --seed {s.get('seed')}")
    return f"""# shapes

The RG-VLM / MindOmni architecture in miniature, trained by this project's own tools (tools/shapes/) on a
synthetic world of coloured shapes (circle, square, triangle; red, orange, yellow, green, blue, purple; 0-9 of them
on a 3x3 grid, 64x64), through the paper's stages: (0) VAE and the reasoner's language and vision, (1) painter
pretraining on captions, (2) SFT with chain-of-thought, (3) RGPO with a verifiable reward (format regex + the shapes
checker on the generated image). Checkpoint: `{src}`. Total {total / 1e6:.1f} MB.

Try: {"; ".join(f'"{e}"' for e in examples)}.

## {title}

{table}

Image accuracy: the shapes checker (tools/shapes/checker.py, its TypeScript twin src/pipeline/rgpo/shapes_checker.ts)
reads exactly the target count, colour and kind. Reproduce (checkpoints in $SHAPES_CKPT, default /tmp/shapes_ckpt):

```sh
{command}
```

Training commands and times: tools/README.md, section "shapes". Licence: Apache-2.0 (weights trained from scratch on
synthetic data).
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="src", default="rgpo.pt")
    ap.add_argument("--out", default=os.path.join(ROOT, "public", "models", "shapes"))
    ap.add_argument("--eval", default=None, help="CKPT/eval.json (v1) or CKPT/eval_v2_test.json (v2)")
    ap.add_argument("--world", choices=["v1", "v2"], default="v1", help="v1: the shipped pack; v2: see world_v2.py")
    ap.add_argument("--allow-unevaluated", action="store_true")
    args = ap.parse_args()
    args.eval = args.eval or ("eval.json" if args.world == "v1" else "eval_v2_test.json")
    warnings.filterwarnings("ignore")
    ev_path = ckpt_path(args.eval)
    ev = json.load(open(ev_path)) if os.path.exists(ev_path) else None
    if ev is None and (not args.allow_unevaluated or os.path.abspath(args.out).startswith(os.path.join(ROOT, "public"))):
        raise SystemExit(f"no evaluation at {ev_path}: run tools.shapes.eval first (or --allow-unevaluated --out /tmp/...)")
    pc, reasoner, painter, vae, meta = load_models(args.src, args.src, "vae.pt")
    for m in (reasoner, painter, vae):
        m.eval()
    tok = tokenizer()
    pack = args.out
    if os.path.isdir(pack):
        shutil.rmtree(pack)
    os.makedirs(pack)
    write_model_files(pack, pc, tok, reasoner, painter, vae)
    examples, inputs = (EXAMPLES, INPUTS) if args.world == "v1" else v2_hints()
    if ev is not None:
        (write_eval_set if args.world == "v1" else write_eval_set_v2)(pack, ev)
    # the card needs the total, which needs the card: write it twice (the size of the number does not change it)
    with open(os.path.join(pack, "README.md"), "w") as f:
        f.write(card(meta, ev, 0, args.src, examples, args.world))
    total = sum(f["bytes"] for f in list_files(pack))
    with open(os.path.join(pack, "README.md"), "w") as f:
        f.write(card(meta, ev, total, args.src, examples, args.world))
    about = {
        "name": "Shapes (trained miniature)",
        "description": "The RG-VLM architecture in miniature, trained on a synthetic world of counted, coloured shapes "
        "through the paper's stages (SFT with chain-of-thought, then RGPO). Thinks first, then paints.",
        "licence": "Apache-2.0",
        "source": f"tools/shapes/ (checkpoint {args.src})",
    }
    extra = {"examples": examples, "inputs": inputs, "rewards": {"checker": "shapes"}}
    if args.world == "v2":
        from tools.shapes import world_v2 as V

        # every out-of-world target starts with it; no caption can (captions start with a digit)
        assert V.OOW_ANSWER.startswith(V2_REFUSAL_PREFIX) and not V2_REFUSAL_PREFIX[0].isdigit()
        extra["refusal"] = {"answer_prefix": V2_REFUSAL_PREFIX}
    manifest = write_manifest(pack, pc, tok, about, 120, extra)
    files, total = manifest["files"], manifest["total_bytes"]
    print(f"pack {pack}: {len(files) + 1} files, {total / 1e6:.2f} MB")
    assert total < 25e6


if __name__ == "__main__":
    main()
