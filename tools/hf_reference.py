#!/usr/bin/env python3
"""Reference outputs of the REAL Hugging Face model classes on the committed replicas (a machine with `transformers`;
not this project's CI, which has no Python): greedy ids, every step's logits and the last decoder layer's hidden
states before the final norm (what MindOmni conditions on), for

- tests/fixtures/qwen2-replica (Qwen2ForCausalLM, through AutoModelForCausalLM), prompt and 8 steps of
  reference.json;
- tests/fixtures/mindomni-replica/mllm (Qwen2_5_VLForConditionalGeneration, text only), prompt and 6 steps of
  reference.json["reasoner"].

Weights are loaded in float32 (the files are BF16). Writes tests/fixtures/hf_reference.json (or --out), with the
transformers and torch versions and the device it ran on.

    python3 tools/hf_reference.py [--out FILE] [--device cuda|cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def greedy(model, prompt: list[int], steps: int, device: str) -> dict:
    """Greedy decoding step by step without a cache (each step re-runs the whole sequence)."""
    ids = list(prompt)
    logits_rows: list[list[float]] = []
    captured: dict[str, torch.Tensor] = {}
    norm = model.model.norm if hasattr(model.model, "norm") else model.model.language_model.norm
    hook = norm.register_forward_hook(lambda m, inp, out: captured.__setitem__("pre_norm", inp[0].detach()))
    prompt_pre_norm = None
    try:
        for step in range(steps):
            x = torch.tensor([ids], device=device)
            with torch.no_grad():
                out = model(input_ids=x, use_cache=False)
            row = out.logits[0, -1].float().cpu()
            if step == 0:
                prompt_pre_norm = captured["pre_norm"][0].float().cpu()
            logits_rows.append([round(v, 6) for v in row.tolist()])
            ids.append(int(torch.argmax(row).item()))
    finally:
        hook.remove()
    top2 = [sorted(r, reverse=True)[:2] for r in logits_rows]
    return {
        "prompt": prompt,
        "greedy": ids[len(prompt):],
        "min_top2_margin": min(a - b for a, b in top2),
        "logits": logits_rows,
        "prompt_pre_norm_hidden": [[round(v, 7) for v in r] for r in prompt_pre_norm.tolist()],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/hf_reference.json"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    import transformers
    from transformers import AutoModelForCausalLM

    res: dict = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if a.device == "cuda" else "cpu",
        "dtype": "float32",
    }
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    q = os.path.join(ROOT, "tests/fixtures/qwen2-replica")
    ref = json.load(open(os.path.join(q, "reference.json")))
    m = AutoModelForCausalLM.from_pretrained(q, torch_dtype=torch.float32).to(a.device).eval()
    res["qwen2_replica"] = {"class": type(m).__name__, **greedy(m, ref["prompt"], len(ref["greedy"]), a.device)}
    res["qwen2_replica"]["mirror_greedy"] = ref["greedy"]
    del m

    mo = os.path.join(ROOT, "tests/fixtures/mindomni-replica")
    ref = json.load(open(os.path.join(mo, "reference.json")))["reasoner"]
    from transformers import Qwen2_5_VLForConditionalGeneration

    m = Qwen2_5_VLForConditionalGeneration.from_pretrained(
        os.path.join(mo, "mllm"), torch_dtype=torch.float32
    ).to(a.device).eval()
    res["mindomni_mllm"] = {"class": type(m).__name__, **greedy(m, ref["prompt"], len(ref["greedy"]), a.device)}
    res["mindomni_mllm"]["mirror_greedy"] = ref["greedy"]

    with open(a.out, "w") as f:
        json.dump(res, f, separators=(",", ":"))
        f.write("\n")
    for k in ("qwen2_replica", "mindomni_mllm"):
        r = res[k]
        same = r["greedy"] == r["mirror_greedy"]
        print(f"{k} ({r['class']}): HF greedy {r['greedy']} {'==' if same else '!='} mirror {r['mirror_greedy']}; "
              f"min top-2 margin {r['min_top2_margin']:.4f}")
    print(f"transformers {res['transformers']}, torch {res['torch']}, {res['device']}; wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
