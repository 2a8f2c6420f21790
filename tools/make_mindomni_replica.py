#!/usr/bin/env python3
"""Writes a tiny MindOmni checkpoint in MindOmni's own layout (docs/formats.md "Converting MindOmni"):

    /usr/bin/python3 tools/make_mindomni_replica.py --fixture   # tests/fixtures/mindomni-replica/ (committed)
    /usr/bin/python3 tools/make_mindomni_replica.py --out DIR   # the same, anywhere (add the tokenizer files)

- mllm/: config.json of a Qwen2.5-VL saved by transformers 4.51 (MindOmni's pin: model_type "qwen2_5_vl", the text
  fields at the top level, rope_scaling mrope, a vision_config), model-0000{1,2}-of-00002.safetensors + index with
  the decoder under `model.` and a few `visual.*` tensors (ignored), generation_config.json. No tokenizer files:
  tests add the real Qwen ones from node_modules.
- image_decoder/: config.json of Phi-3 (model_type "phi3", rope_scaling null) and model.safetensors with OmniGen's
  names: x_embedder.proj / input_x_embedder.proj (Conv2d), time_token / t_embedder (mlp.0, mlp.2), pos_embed
  [1, M², H], llm.embed_tokens, llm.layers.*, llm.norm, final_layer.adaLN_modulation.1, final_layer.linear.
- connector.safetensors: MindOmni's ModuleList state dict: 0 (Linear with bias), 1 and 2 (Phi-3 layers).
Every tensor BF16 (torch's rounding of seeded normals), as MindOmni's bf16 checkpoint. transformers is not installed
here: files are written with tools/rgvlm/safetensors_io.py (the layout safetensors writes).

`reference.json`: one velocity of the project's PyTorch mirror (tools/rgvlm/model.py Painter, f32) on the replica's
weights (mapped to our names here, independently of the TypeScript converter) for a seeded condition, latents and
timestep; and the mirror's greedy ids (ReasonerLM) of the mllm's text decoder for a seeded prompt.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.rgvlm.config import ConnectorConfig, PainterConfig, ReasonerConfig  # noqa: E402
from tools.rgvlm.model import Painter, ReasonerLM  # noqa: E402
from tools.rgvlm.safetensors_io import write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# mllm text decoder (Qwen2.5-VL-shaped: q/k/v biases, GQA, untied head)
VOCAB, R_HIDDEN, R_LAYERS, R_HEADS, R_KV, R_INTER = 256, 32, 2, 2, 1, 64
MROPE = [2, 3, 3]  # sums to head_dim / 2 = 8, as [16, 24, 24] does for the 7B's 128
# image decoder (Phi-3) and connector
P_HIDDEN, P_LAYERS, P_HEADS, P_KV, P_INTER = 32, 2, 1, 1, 64
CHANNELS, PATCH, FREQ, POS_MAX, PHI_VOCAB = 4, 2, 256, 16, 64
CONNECTOR_LAYERS = 2


def seeded(seed: int):
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, std: float = 0.08) -> torch.Tensor:
        return (torch.randn(*shape, generator=g) * std).to(torch.bfloat16)

    def norm(n: int) -> torch.Tensor:
        return (1 + torch.randn(n, generator=g) * 0.05).to(torch.bfloat16)

    return rnd, norm


def mllm_tensors(seed: int) -> dict[str, torch.Tensor]:
    rnd, norm = seeded(seed)
    d = R_HIDDEN // R_HEADS
    t = {"model.embed_tokens.weight": rnd(VOCAB, R_HIDDEN, std=0.5)}
    for i in range(R_LAYERS):
        p = f"model.layers.{i}"
        for n, out in (("q", R_HEADS * d), ("k", R_KV * d), ("v", R_KV * d)):
            t[f"{p}.self_attn.{n}_proj.weight"] = rnd(out, R_HIDDEN)
            t[f"{p}.self_attn.{n}_proj.bias"] = rnd(out)
        t[f"{p}.self_attn.o_proj.weight"] = rnd(R_HIDDEN, R_HEADS * d)
        t[f"{p}.mlp.gate_proj.weight"] = rnd(R_INTER, R_HIDDEN)
        t[f"{p}.mlp.up_proj.weight"] = rnd(R_INTER, R_HIDDEN)
        t[f"{p}.mlp.down_proj.weight"] = rnd(R_HIDDEN, R_INTER)
        t[f"{p}.input_layernorm.weight"] = norm(R_HIDDEN)
        t[f"{p}.post_attention_layernorm.weight"] = norm(R_HIDDEN)
    t["model.norm.weight"] = norm(R_HIDDEN)
    t["lm_head.weight"] = rnd(VOCAB, R_HIDDEN, std=0.3)
    # A token of the vision tower's layout: present in MindOmni's shards, never read by the converter.
    t["visual.patch_embed.proj.weight"] = rnd(16, 3, 2, 2, 2)
    t["visual.merger.ln_q.weight"] = norm(16)
    return t


def phi3_layer(t: dict, p: str, rnd, norm) -> None:
    d = P_HIDDEN // P_HEADS
    t[f"{p}.input_layernorm.weight"] = norm(P_HIDDEN)
    t[f"{p}.post_attention_layernorm.weight"] = norm(P_HIDDEN)
    t[f"{p}.self_attn.qkv_proj.weight"] = rnd((P_HEADS + 2 * P_KV) * d, P_HIDDEN, std=0.15)
    t[f"{p}.self_attn.o_proj.weight"] = rnd(P_HIDDEN, P_HEADS * d, std=0.15)
    t[f"{p}.mlp.gate_up_proj.weight"] = rnd(2 * P_INTER, P_HIDDEN, std=0.15)
    t[f"{p}.mlp.down_proj.weight"] = rnd(P_HIDDEN, P_INTER, std=0.15)


def pos_table(m: int, dim: int) -> torch.Tensor:
    """OmniGen's stored 2D table, computed here from its definition: grid index · 64 / m per axis; the first half of
    the features from the column coordinate, each half [sin(a·ω_k), cos(a·ω_k)], ω_k = 10000^(−k/(dim/4))."""
    coord = torch.arange(m, dtype=torch.float64) * (64.0 / m)
    k = torch.arange(dim // 4, dtype=torch.float64) / (dim / 4)
    omega = 1.0 / 10000.0**k

    def half(a: torch.Tensor) -> torch.Tensor:
        x = a[:, None] * omega[None]
        return torch.cat([torch.sin(x), torch.cos(x)], dim=1)

    rows = half(coord)[:, None, :].expand(m, m, dim // 2)
    cols = half(coord)[None, :, :].expand(m, m, dim // 2)
    return torch.cat([cols, rows], dim=-1).reshape(1, m * m, dim).float()


def decoder_tensors(seed: int) -> dict[str, torch.Tensor]:
    rnd, norm = seeded(seed)
    t: dict[str, torch.Tensor] = {}
    for e in ("x_embedder", "input_x_embedder"):
        t[f"{e}.proj.weight"] = rnd(P_HIDDEN, CHANNELS, PATCH, PATCH, std=0.3)
        t[f"{e}.proj.bias"] = rnd(P_HIDDEN, std=0.05)
    for e in ("time_token", "t_embedder"):
        t[f"{e}.mlp.0.weight"] = rnd(P_HIDDEN, FREQ, std=0.1)
        t[f"{e}.mlp.0.bias"] = rnd(P_HIDDEN, std=0.05)
        t[f"{e}.mlp.2.weight"] = rnd(P_HIDDEN, P_HIDDEN, std=0.2)
        t[f"{e}.mlp.2.bias"] = rnd(P_HIDDEN, std=0.05)
    t["pos_embed"] = pos_table(POS_MAX, P_HIDDEN).to(torch.bfloat16)
    t["llm.embed_tokens.weight"] = rnd(PHI_VOCAB, P_HIDDEN)
    for i in range(P_LAYERS):
        phi3_layer(t, f"llm.layers.{i}", rnd, norm)
    t["llm.norm.weight"] = norm(P_HIDDEN)
    t["final_layer.adaLN_modulation.1.weight"] = rnd(2 * P_HIDDEN, P_HIDDEN, std=0.2)
    t["final_layer.adaLN_modulation.1.bias"] = rnd(2 * P_HIDDEN, std=0.05)
    t["final_layer.linear.weight"] = rnd(PATCH * PATCH * CHANNELS, P_HIDDEN, std=0.2)
    t["final_layer.linear.bias"] = rnd(PATCH * PATCH * CHANNELS, std=0.05)
    return t


def connector_tensors(seed: int) -> dict[str, torch.Tensor]:
    rnd, norm = seeded(seed)
    t = {"0.weight": rnd(P_HIDDEN, R_HIDDEN, std=0.2), "0.bias": rnd(P_HIDDEN, std=0.05)}
    for i in range(CONNECTOR_LAYERS):
        phi3_layer(t, str(i + 1), rnd, norm)
    return t


def bits(x: torch.Tensor):
    return x.contiguous().view(torch.int16).numpy().view("uint16")


def write_bf16(path: str, t: dict[str, torch.Tensor]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_safetensors(path, {n: bits(v) for n, v in t.items()}, {"format": "pt"}, set(t))


def configs() -> tuple[ConnectorConfig, PainterConfig]:
    phi = dict(hidden_size=P_HIDDEN, num_attention_heads=P_HEADS, num_key_value_heads=P_KV,
               head_dim=P_HIDDEN // P_HEADS, intermediate_size=P_INTER, rope_theta=10000.0, rms_norm_eps=1e-5)
    cc = ConnectorConfig(input_size=R_HIDDEN, num_hidden_layers=CONNECTOR_LAYERS, final_norm=False, **phi)
    pc = PainterConfig(num_hidden_layers=P_LAYERS, latent_channels=CHANNELS, patch_size=PATCH, timestep_freq_dim=FREQ,
                       timestep_scale=1.0, time_embedders="separate", timestep_max_period=10000.0,
                       final_norm_eps=1e-6, pos_embed_max_size=POS_MAX, pos_embed_scale=64.0 / POS_MAX,
                       pos_embed_base=10000.0, **phi)
    return cc, pc


def dit_state(dec: dict) -> dict:
    """OmniGen's image decoder names → the mirror DiT's (its state_dict, without the `painter.` prefix)."""
    state = {k[len("llm."):]: v for k, v in dec.items() if k.startswith("llm.layers.")}
    state["norm.weight"] = dec["llm.norm.weight"]
    state["x_embedder.weight"] = dec["x_embedder.proj.weight"].reshape(P_HIDDEN, -1)
    state["x_embedder.bias"] = dec["x_embedder.proj.bias"]
    for e in ("time_token", "t_embedder"):
        for j in ("0", "2"):
            for w in ("weight", "bias"):
                state[f"{e}.mlp.{j}.{w}"] = dec[f"{e}.mlp.{j}.{w}"]
    for w in ("weight", "bias"):
        state[f"final_layer.adaLN_modulation.{w}"] = dec[f"final_layer.adaLN_modulation.1.{w}"]
        state[f"final_layer.linear.{w}"] = dec[f"final_layer.linear.{w}"]
    return state


def painter_reference(dec: dict, conn: dict, seed: int) -> dict:
    """The mirror's velocity on the replica's weights: MindOmni's names mapped to the mirror's (ours) here."""
    cc, pc = configs()
    state = {"connector.input_proj.weight": conn["0.weight"], "connector.input_proj.bias": conn["0.bias"]}
    for k, v in conn.items():
        if k[0] != "0":
            i, rest = k.split(".", 1)
            state[f"connector.layers.{int(i) - 1}.{rest}"] = v
    state.update({f"painter.{k}": v for k, v in dit_state(dec).items()})
    model = Painter(cc, pc).eval()
    model.load_state_dict({k: v.float() for k, v in state.items()})
    g = torch.Generator().manual_seed(seed)
    cond = torch.randn(1, 5, R_HIDDEN, generator=g)
    latents = torch.randn(1, CHANNELS, 8, 8, generator=g)
    t = 0.3
    with torch.no_grad():
        v = model(cond, latents, torch.tensor([t]))
    # The table the mirror computes from the config against the one stored (bf16): the layout agrees.
    from tools.rgvlm.model import sincos_2d
    mine = sincos_2d(POS_MAX, POS_MAX, P_HIDDEN, pc)
    stored = dec["pos_embed"].float()[0]
    pos_err = float((mine - stored).abs().max())
    assert pos_err < 1e-2, pos_err
    return {
        "condition": [round(x, 8) for x in cond.flatten().tolist()], "condition_shape": [5, R_HIDDEN],
        "latents": [round(x, 8) for x in latents.flatten().tolist()], "latents_shape": [CHANNELS, 8, 8],
        "timestep": t, "velocity": [float(x) for x in v.flatten().tolist()],
        "pos_embed_max_abs_vs_config": pos_err,
    }


def reasoner_reference(t: dict, seed: int, n: int = 6) -> dict:
    c = ReasonerConfig(vocab_size=VOCAB, hidden_size=R_HIDDEN, num_hidden_layers=R_LAYERS, num_attention_heads=R_HEADS,
                       num_key_value_heads=R_KV, head_dim=R_HIDDEN // R_HEADS, intermediate_size=R_INTER,
                       max_position_embeddings=128000, rope_theta=1000000.0, rms_norm_eps=1e-6,
                       tie_word_embeddings=False)
    lm = ReasonerLM(c).eval()
    lm.load_state_dict({k.removeprefix("model."): v.float() for k, v in t.items() if not k.startswith("visual.")})
    g = torch.Generator().manual_seed(seed)
    prompt = torch.randint(0, VOCAB, (10,), generator=g).tolist()
    ids, margin = list(prompt), math.inf
    with torch.no_grad():
        for _ in range(n):
            x = lm.embed_tokens(torch.tensor([ids]))
            past = [torch.zeros(1, R_KV, 0, c.head_dim)] * (2 * R_LAYERS)
            logits, _, _ = lm(x, torch.ones(1, len(ids), dtype=torch.long), torch.arange(len(ids)).unsqueeze(0), past)
            top = logits[0, -1].topk(2)
            margin = min(margin, float(top.values[0] - top.values[1]))
            ids.append(int(top.indices[0]))
    return {"prompt": prompt, "greedy": ids[len(prompt):], "min_top2_margin": margin}


def mllm_config() -> dict:
    return {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"], "attention_dropout": 0.0, "bos_token_id": 151643,
        "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": R_HIDDEN, "image_token_id": 151655,
        "initializer_range": 0.02, "intermediate_size": R_INTER, "max_position_embeddings": 128000,
        "max_window_layers": R_LAYERS, "model_type": "qwen2_5_vl", "num_attention_heads": R_HEADS,
        "num_hidden_layers": R_LAYERS, "num_key_value_heads": R_KV, "rms_norm_eps": 1e-06,
        "rope_scaling": {"mrope_section": MROPE, "rope_type": "default", "type": "default"},
        "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "transformers_version": "4.51.1", "use_cache": True, "use_sliding_window": False,
        "video_token_id": 151656, "vision_end_token_id": 151653, "vision_start_token_id": 151652,
        "vision_token_id": 151654, "vocab_size": VOCAB,
        "vision_config": {"depth": 1, "hidden_size": 16, "model_type": "qwen2_5_vl", "out_hidden_size": R_HIDDEN,
                          "patch_size": 2, "temporal_patch_size": 2, "in_chans": 3, "spatial_merge_size": 2},
    }


def phi3_config() -> dict:
    return {
        "architectures": ["Phi3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 1,
        "embd_pdrop": 0.0, "eos_token_id": 32000, "hidden_act": "silu", "hidden_size": P_HIDDEN,
        "initializer_range": 0.02, "intermediate_size": P_INTER, "max_position_embeddings": 4096,
        "model_type": "phi3", "num_attention_heads": P_HEADS, "num_hidden_layers": P_LAYERS,
        "num_key_value_heads": P_KV, "original_max_position_embeddings": 4096, "pad_token_id": 32000,
        "resid_pdrop": 0.0, "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 10000.0,
        "sliding_window": 2047, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "transformers_version": "4.51.1", "use_cache": True, "vocab_size": PHI_VOCAB,
    }


def dump(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out")
    ap.add_argument("--fixture", action="store_true")
    ap.add_argument("--seed", type=int, default=70)
    a = ap.parse_args()
    if a.fixture:
        a.out = os.path.join(ROOT, "tests/fixtures/mindomni-replica")
    if not a.out:
        ap.error("--out DIR or --fixture")
    mllm, dec, conn = mllm_tensors(a.seed), decoder_tensors(a.seed + 1), connector_tensors(a.seed + 2)
    names = list(mllm)
    half = len(names) // 2
    weight_map = {}
    for i, part in enumerate((names[:half], names[half:])):
        file = f"model-0000{i + 1}-of-00002.safetensors"
        write_bf16(os.path.join(a.out, "mllm", file), {n: mllm[n] for n in part})
        weight_map.update({n: file for n in part})
    total = sum(x.numel() * 2 for x in mllm.values())
    dump(os.path.join(a.out, "mllm/model.safetensors.index.json"),
         {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    dump(os.path.join(a.out, "mllm/config.json"), mllm_config())
    dump(os.path.join(a.out, "mllm/generation_config.json"), {"bos_token_id": 151643, "eos_token_id": [151645, 151643]})
    dump(os.path.join(a.out, "image_decoder/config.json"), phi3_config())
    write_bf16(os.path.join(a.out, "image_decoder/model.safetensors"), dec)
    write_bf16(os.path.join(a.out, "connector.safetensors"), conn)
    dump(os.path.join(a.out, "reference.json"),
         {"painter": painter_reference(dec, conn, a.seed + 3), "reasoner": reasoner_reference(mllm, a.seed + 4)})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
