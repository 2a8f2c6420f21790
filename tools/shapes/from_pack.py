"""The shapes models rebuilt from a pack's own files, for evaluating a pack whose checkpoints are gone.

The reasoner's text decoder and the painter (with its connector) come from `reasoner.f32.safetensors` and
`painter.f32.safetensors` under their state-dict names; the vision tower and the VAE only travel as ONNX, so their
weights are read from the ONNX initializers: named ones directly, and each Linear weight that the exporter folded
into an anonymous MatMul constant from the node's scope (`/vision/layers.0/fc1/MatMul` -> `vision.layers.0.fc1.weight`,
transposed back). The VAE's scale and shift come from vae_config.json. Every tensor of every module must be found
(load_state_dict strict), so a pack that does not match the tools' shapes config fails loudly.

    PYTHONPATH=. /usr/bin/python3 -m tools.shapes.from_pack [--verify 16] [--save pack.pt] [public/models/shapes]

--verify N reruns the pack's own PyTorch evaluation (eval/set.json, written by make_pack from the checkpoints) on its
first N arithmetic prompts (a world v2 set, version 2: its first N prompts of every column), no CoT and CoT, and
requires the same image verdict for each. --save NAME writes the weights as a checkpoint under $SHAPES_CKPT (and
vae.pt when there is none) for the stages to start from.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

from tools.rgvlm.safetensors_io import read_safetensors
from tools.shapes.models import fresh_models, shapes_config


def onnx_weights(path: str) -> dict[str, np.ndarray]:
    """State-dict tensors of an exported module, from its ONNX initializers (see the module docstring)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    out = {k: np.array(v) for k, v in inits.items() if not k.startswith("onnx::")}
    for node in m.graph.node:
        if node.op_type != "MatMul":
            continue
        for name in node.input:
            if name.startswith("onnx::") and name in inits:
                scope = node.name.rsplit("/", 1)[0].strip("/").replace("/", ".")
                out[scope + ".weight"] = inits[name].T.copy()
    return out


def load_pack(pack: str):
    """(pc, reasoner, painter, vae) with the pack's weights, in eval mode."""
    with open(os.path.join(pack, "config.json")) as f:
        pc = shapes_config(int(json.load(f)["vision_config"]["image_size"]))
    reasoner, painter, vae = fresh_models(pc)
    lm = {k: torch.from_numpy(np.array(v)) for k, v in read_safetensors(os.path.join(pack, "reasoner.f32.safetensors")).items()}
    reasoner.lm.load_state_dict(lm, strict=True)
    vision = onnx_weights(os.path.join(pack, "onnx", "vision_encoder.onnx"))
    reasoner.vision.load_state_dict({k[len("vision."):]: torch.from_numpy(v) for k, v in vision.items()}, strict=True)
    pw = read_safetensors(os.path.join(pack, "painter.f32.safetensors"))
    painter.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in pw.items()}, strict=True)
    vw = {**onnx_weights(os.path.join(pack, "onnx", "vae_encoder.onnx")),
          **onnx_weights(os.path.join(pack, "onnx", "vae_decoder.onnx"))}
    vae.load_state_dict({k: torch.from_numpy(v) for k, v in vw.items()}, strict=True)
    with open(os.path.join(pack, "vae_config.json")) as f:
        vc = json.load(f)
    pc.vae.scaling_factor = float(vc["scaling_factor"])
    pc.vae.shift_factor = float(vc["shift_factor"])
    for m in (reasoner, painter, vae):
        m.eval()
    return pc, reasoner, painter, vae


def verify(pack: str, n: int) -> tuple[int, int]:
    """(agreeing, total) verdicts of the pack's recorded PyTorch evaluation on its first n arithmetic prompts."""
    from types import SimpleNamespace

    from tools.shapes.eval import run_images

    with open(os.path.join(pack, "eval", "set.json")) as f:
        es = json.load(f)
    st = es["settings"]
    if es["version"] == 2:
        return verify_v2(pack, es, n)
    prompts = [SimpleNamespace(**a) for a in es["arithmetic"][:n]]
    pc, r, p, v = load_pack(pack)
    agree = total = 0
    for label, cot in (("no CoT (RGPO pack, prompt prefill only)", False), ("CoT after RGPO", True)):
        ok, _, texts, _ = run_images(r, p, v, pc, prompts, cot, st["steps"], st["guidance"], st["seed"])
        want = es["pytorch"]["rows"][label]["arith"][:n]
        agree += sum(int(a) == int(b) for a, b in zip(ok, want))
        total += len(want)
        print(f"{label}: {sum(ok)}/{len(ok)} right, recorded {sum(want)}/{len(want)}; first text {texts[0]!r}")
    return agree, total


def run_set_edits(models, items: list[dict], mode: str, st: dict, pack: str) -> list[dict]:
    """eval_v2.run_edits on a set's edit tasks, the pictures read back from the pack's own PNGs."""
    from types import SimpleNamespace

    from tools.rgvlm.png import decode_png
    from tools.shapes.eval_v2 import run_edits

    tasks = []
    for a in items:
        with open(os.path.join(pack, a["image"]), "rb") as f:
            img = decode_png(f.read())
        p = SimpleNamespace(instruction=a["prompt"], template=a["template"], n=a["n"], colour=a["colour"],
                            kind=a["kind"], answer=a["answer"], image=lambda _seed, img=img: img)
        tasks.append((p, 0))
    return run_edits(models, tasks, mode, st["steps"], st["guidance"], st["seed"], items[0]["strength"]) if items else []


def verify_v2(pack: str, es: dict, n: int) -> tuple[int, int]:
    """verify() for a world v2 set: eval_v2's run on the first n prompts of every column."""
    from types import SimpleNamespace

    from tools.shapes.eval_v2 import run

    st = es["settings"]
    seen: dict[str, int] = {}
    picked = []
    for k, a in enumerate(es["prompts"]):
        seen[a["column"]] = seen.get(a["column"], 0) + 1
        if seen[a["column"]] <= n:
            picked.append(k)
    draw = [k for k in picked if "image" not in es["prompts"][k]]
    edits = [k for k in picked if "image" in es["prompts"][k]]
    prompts = [SimpleNamespace(**es["prompts"][k]) for k in draw]
    models = load_pack(pack)
    agree = total = 0
    for label, mode in (("no CoT (RGPO, prompt prefill only)", "nocot"), ("CoT after RGPO", "cot")):
        recs = run(models, prompts, mode, st["steps"], st["guidance"], st["seed"]) + run_set_edits(
            models, [es["prompts"][k] for k in edits], mode, st, pack)
        want = [es["pytorch"]["rows"][label]["image"][k] for k in draw + edits]
        agree += sum(int(r["image"]) == int(w) for r, w in zip(recs, want))
        total += len(want)
        print(f"{label}: {sum(r['image'] for r in recs)}/{len(recs)} right, recorded {sum(want)}/{len(want)}; "
              f"first text {recs[0]['text']!r}")
    return agree, total


if __name__ == "__main__":
    import argparse

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser()
    ap.add_argument("pack", nargs="?", default=os.path.join(root, "public", "models", "shapes"))
    ap.add_argument("--verify", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save", default=None, help="write the weights as checkpoint NAME under $SHAPES_CKPT (reasoner and "
                    "painter; vae.pt too when there is none), for the stages to start from; never overwrites")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    pc, r, p, v = load_pack(args.pack)
    n = sum(t.numel() for m in (r, p, v) for t in m.state_dict().values())
    print(f"{args.pack}: {n} weights loaded; VAE scale {pc.vae.scaling_factor:.4f} shift {pc.vae.shift_factor:.4f}")
    if args.save:
        from tools.shapes.models import ckpt_path, save

        if os.path.exists(ckpt_path(args.save)):
            sys.exit(f"{ckpt_path(args.save)} exists: not overwritten (pick another name or move it)")
        save({"reasoner": r.state_dict(), "painter": p.state_dict(), "from_pack": args.pack}, args.save)
        print(f"wrote {ckpt_path(args.save)}")
        if not os.path.exists(ckpt_path("vae.pt")):
            save({"vae": v.state_dict(), "scaling_factor": pc.vae.scaling_factor, "shift_factor": pc.vae.shift_factor,
                  "from_pack": args.pack}, "vae.pt")
            print(f"wrote {ckpt_path('vae.pt')}")
    if args.verify:
        agree, total = verify(args.pack, args.verify)
        print(f"verdicts as recorded: {agree}/{total}")
        sys.exit(0 if agree == total else 1)
