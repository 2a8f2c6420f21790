#!/usr/bin/env python3
"""Builds the tiny-random pack (public/models/tiny-random/) and its PyTorch reference fixtures
(tests/fixtures/tiny-random/). One command, byte-identical on rerun:

    /usr/bin/python3 tools/make_tiny_random.py            # pack + fixtures
    /usr/bin/python3 tools/make_tiny_random.py --check    # rebuild into a temp dir, compare bytes with the tree

Python is never needed to build or test the app; this regenerates committed files.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.rgvlm import pipeline as P  # noqa: E402
from tools.rgvlm.config import (  # noqa: E402
    INSTRUCTION_PREFIX,
    SPECIAL_TOKENS,
    SYSTEM_PROMPT_COT,
    SYSTEM_PROMPT_PLAIN,
    PackConfig,
    tiny_random,
)
from tools.rgvlm.corpus import corpus_text  # noqa: E402
from tools.rgvlm.model import Painter, build, sincos_2d, timestep_embedding  # noqa: E402
from tools.rgvlm.noise import latent_noise, philox_words, seeded_normal  # noqa: E402
from tools.rgvlm.onnx_export import export_all  # noqa: E402
from tools.rgvlm.png import encode_png  # noqa: E402
from tools.rgvlm.safetensors_io import (  # noqa: E402
    REASONER_WEIGHTS,
    dequantise_state,
    quantise_state,
    write_reasoner_weights,
    write_safetensors,
)
from tools.rgvlm.tokenizer import CHAT_TEMPLATE, ByteBPETokenizer, dumps_json, train_bpe  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACK_REL = "public/models/tiny-random"
FIX_REL = "tests/fixtures/tiny-random"
MIN_MARGIN = 1e-2

# Fixture settings
GREEDY_MAX_NEW = 16
IMAGINE = {"prompt": "draw the result of 3 apples plus 2 apples", "seed": 42, "steps": 4, "guidance": 3.0,
           "cot": True, "max_new_tokens": 16, "width": 64, "height": 64}
EDIT = {"instruction": "make the square green", "seed": 42, "steps": 4, "guidance": 3.0, "cot": True,
        "max_new_tokens": 16, "strength": 0.6, "width": 64, "height": 64}


# --------------------------------------------------------------------------------------------- helpers
def write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps_json(obj))


def write_bin(path: str, a: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(np.ascontiguousarray(a).astype("<f4").tobytes())


def write_bytes(path: str, b: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b)


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def shape_image_32() -> np.ndarray:
    """The Understand fixture image: three red discs on white, 32x32 (the vision encoder's input size)."""
    img = np.full((32, 32, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:32, 0:32]
    for cy, cx in [(9, 9), (9, 23), (23, 16)]:
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= 25] = (220, 30, 40)
    return img


def edit_image_64() -> np.ndarray:
    """The Edit input: a blue square on yellow, drawn at 32x32 and doubled (2x2 blocks), so every resampler
    that halves it (box, bilinear at exact 2:1, nearest) gives the same 32x32 image for the reasoner."""
    small = np.zeros((32, 32, 3), np.uint8)
    small[:] = (240, 210, 40)
    small[8:24, 10:22] = (30, 60, 200)
    small[0:4, :] = (250, 250, 250)
    return small.repeat(2, axis=0).repeat(2, axis=1)


def _layer_flops(cfg, q_tokens: int, k_tokens: int) -> int:
    """2 x multiply-adds of the decoder layers: q_tokens rows through the projections, attention over k_tokens."""
    qkv = (cfg.num_attention_heads + 2 * cfg.num_key_value_heads) * cfg.head_dim
    per = cfg.hidden_size * qkv + cfg.num_attention_heads * cfg.head_dim * cfg.hidden_size
    per += cfg.hidden_size * 2 * cfg.intermediate_size + cfg.intermediate_size * cfg.hidden_size
    attn = 2 * q_tokens * k_tokens * cfg.num_attention_heads * cfg.head_dim
    return 2 * (q_tokens * per + attn) * cfg.num_hidden_layers


def painter_flops(pc: PackConfig, lc: int, n_latent: int) -> dict:
    """FLOPs (2 x multiply-adds of matmuls + attention) of one CFG branch at the default size."""
    c, k = pc.painter, pc.connector
    L = lc + 1 + n_latent
    p2c = c.patch_size**2 * c.latent_channels
    edges = 2 * n_latent * p2c * c.hidden_size * 2  # x_embedder + final linear
    edges += 2 * (c.timestep_freq_dim * c.hidden_size + c.hidden_size * c.hidden_size + c.hidden_size * 2 * c.hidden_size)
    return {
        "condition_length": lc,
        "latent_tokens": n_latent,
        "connector": int(2 * lc * k.input_size * k.hidden_size + _layer_flops(k, lc, lc)),
        "painter_uncached": int(_layer_flops(c, L, L) + edges),
        "painter_step_with_condition_cache": int(_layer_flops(c, 1 + n_latent, L) + edges),
    }


# --------------------------------------------------------------------------------------------- configs
def hf_configs(pc: PackConfig, tok: ByteBPETokenizer) -> dict[str, dict]:
    r, v = pc.reasoner, pc.reasoner.vision
    text_config = {
        "model_type": "qwen2",
        "architectures": ["Qwen2ForCausalLM"],
        "vocab_size": r.vocab_size,
        "hidden_size": r.hidden_size,
        "intermediate_size": r.intermediate_size,
        "num_hidden_layers": r.num_hidden_layers,
        "num_attention_heads": r.num_attention_heads,
        "num_key_value_heads": r.num_key_value_heads,
        "head_dim": r.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": r.max_position_embeddings,
        "rope_theta": r.rope_theta,
        "rms_norm_eps": r.rms_norm_eps,
        "tie_word_embeddings": r.tie_word_embeddings,
        "use_sliding_window": False,
        "bos_token_id": r.bos_token_id,
        "eos_token_id": r.eos_token_ids[0],
        "torch_dtype": "float32",
    }
    vision_config = {
        "model_type": "clip_vision_model",
        "hidden_size": v.hidden_size,
        "intermediate_size": v.intermediate_size,
        "num_hidden_layers": v.num_hidden_layers,
        "num_attention_heads": v.num_attention_heads,
        "image_size": v.image_size,
        "patch_size": v.patch_size,
        "num_channels": v.num_channels,
        "layer_norm_eps": v.layer_norm_eps,
        "hidden_act": "gelu",
    }
    config = {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "llava",
        "image_token_index": r.image_token_id,
        "image_seq_length": r.num_image_tokens,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "tie_word_embeddings": r.tie_word_embeddings,
        "text_config": text_config,
        "vision_config": vision_config,
        "torch_dtype": "float32",
    }
    generation_config = {
        "bos_token_id": r.bos_token_id,
        "eos_token_id": r.eos_token_ids,
        "pad_token_id": r.pad_token_id,
        "do_sample": False,
        "max_new_tokens": pc.default_max_new_tokens,
    }
    preprocessor_config = {
        "image_processor_type": "CLIPImageProcessor",
        "processor_class": "LlavaProcessor",
        "do_convert_rgb": True,
        "do_resize": True,
        "size": {"height": v.image_size, "width": v.image_size},
        "resample": 3,
        "do_center_crop": False,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": v.image_mean,
        "image_std": v.image_std,
    }
    processor_config = {
        "processor_class": "LlavaProcessor",
        "image_token": r.image_token,
        "patch_size": v.patch_size,
        "num_additional_image_tokens": 0,
        "vision_feature_select_strategy": "full",
    }
    added = {
        str(tok.token_to_id[s]): {
            "content": s, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True,
        }
        for s in SPECIAL_TOKENS
    }
    tokenizer_config = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": SPECIAL_TOKENS[3:],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": r.max_position_embeddings,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    painter_config = {
        "_class_name": "RGVLMPainter",
        "connector": dict(vars(pc.connector)),
        "painter": dict(vars(pc.painter)),
        "weights": {"f32": "painter.f32.safetensors", "int8": "painter.int8.safetensors", "int4": "painter.int4.safetensors"},
    }
    vae_config = {"_class_name": "RGVLMTinyVAE", **{k: v for k, v in vars(pc.vae).items()}}
    return {
        "config.json": config,
        "generation_config.json": generation_config,
        "preprocessor_config.json": preprocessor_config,
        "processor_config.json": processor_config,
        "tokenizer_config.json": tokenizer_config,
        "painter_config.json": painter_config,
        "vae_config.json": vae_config,
    }


def reasoner_manifest(pc: PackConfig, tok: ByteBPETokenizer) -> dict:
    r = pc.reasoner
    d = {k: v for k, v in vars(r).items() if k != "vision"}
    d["vision"] = dict(vars(r.vision))
    d["vision"]["num_patches"] = r.vision.num_patches
    d["special_tokens"] = {
        "endoftext": tok.token_to_id["<|endoftext|>"],
        "im_start": tok.token_to_id["<|im_start|>"],
        "im_end": tok.token_to_id["<|im_end|>"],
        "think_start": tok.token_to_id["<think>"],
        "think_end": tok.token_to_id["</think>"],
        "answer_start": tok.token_to_id["<answer>"],
        "answer_end": tok.token_to_id["</answer>"],
        "image": tok.token_to_id["<image>"],
    }
    return d


# --------------------------------------------------------------------------------------------- build
def build_pack(pc: PackConfig, root: str, log) -> dict:
    """Writes the pack and the fixtures under `root`; returns a summary."""
    t_start = time.time()
    pack = os.path.join(root, PACK_REL)
    fix = os.path.join(root, FIX_REL)
    for d in (pack, fix):
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)

    vocab, merges = train_bpe(corpus_text(), pc.reasoner.vocab_size, SPECIAL_TOKENS)
    tok = ByteBPETokenizer(vocab, merges, SPECIAL_TOKENS)
    assert tok.size == pc.reasoner.vocab_size
    assert tok.token_to_id["<image>"] == pc.reasoner.image_token_id
    assert [tok.token_to_id["<|im_end|>"], tok.token_to_id["<|endoftext|>"]] == pc.reasoner.eos_token_ids
    log(f"tokenizer: {len(vocab)} BPE tokens, {len(merges)} merges ({time.time() - t_start:.1f}s)")

    reasoner, painter, vae = build(pc)
    write_json(os.path.join(pack, "tokenizer.json"), tok.to_tokenizer_json())
    for name, obj in hf_configs(pc, tok).items():
        write_json(os.path.join(pack, name), obj)

    t = time.time()
    export_all(reasoner, painter, vae, pack)
    log(f"onnx export ({time.time() - t:.1f}s)")

    state = {k: v.detach().numpy().astype(np.float32) for k, v in painter.state_dict().items()}
    variants = {}
    for mode in ("f32", "int8", "int4"):
        st = quantise_state(state, mode)
        write_safetensors(
            os.path.join(pack, f"painter.{mode}.safetensors"), st, {"format": "pt", "rgvlm.quantisation": mode}
        )
        variants[mode] = dequantise_state(st)
    write_reasoner_weights(reasoner, pack)

    fixtures = build_fixtures(pc, tok, reasoner, painter, vae, variants, fix, log)

    write_bytes(
        os.path.join(pack, "README.md"),
        (
            "# tiny-random\n\nRandom weights (numpy PCG64, seed "
            f"{pc.init.seed}) in the RG-VLM / MindOmni architecture at a size that runs on software WebGPU. "
            "For tests only: it paints noise and reasons nonsense.\n\nRegenerate with "
            "`/usr/bin/python3 tools/make_tiny_random.py` (see tools/README.md). Licence: Apache-2.0.\n"
        ).encode(),
    )

    files = []
    for dirpath, _, names in os.walk(pack):
        for n in names:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, pack).replace(os.sep, "/")
            if rel == "manifest.json":
                continue
            files.append({"path": rel, "bytes": os.path.getsize(full), "sha256": sha256(full)})
    files.sort(key=lambda f: f["path"])
    total = sum(f["bytes"] for f in files)
    by_path = {f["path"]: f["bytes"] for f in files}

    r = pc.reasoner
    n_lat = (pc.default_height // (pc.vae.downscale * pc.painter.patch_size)) * (
        pc.default_width // (pc.vae.downscale * pc.painter.patch_size)
    )
    lc = fixtures["imagine"]["condition_length_positive"]
    kv_bytes = 2 * r.num_hidden_layers * r.num_key_value_heads * r.head_dim * r.max_position_embeddings * 4
    L_max = r.max_position_embeddings + 1 + n_lat
    act_bytes = 2 * L_max * (8 * pc.painter.hidden_size + pc.painter.num_attention_heads * L_max) * 4
    weights_bytes = sum(b for p, b in by_path.items() if p.endswith(".onnx") and p != "onnx/painter.onnx")
    weights_bytes += by_path["painter.f32.safetensors"]
    manifest = {
        "format": "rg-vlm-pack",
        "format_version": 1,
        "id": pc.pack_id,
        "name": "Tiny random (test pack)",
        "description": "Random weights in the full RG-VLM architecture, tiny enough for software WebGPU. "
        "Reasons nonsense and paints noise; used by the tests.",
        "licence": "Apache-2.0",
        "source": f"tools/make_tiny_random.py (random init, seed {pc.init.seed})",
        "files": files,
        "total_bytes": total,
        **manifest_model_fields(pc, tok),
        "requirements": {
            "gpu_features": [],
            "weights_bytes": weights_bytes,
            "memory_bytes": weights_bytes + kv_bytes + act_bytes,
        },
        "stats": {"flops": painter_flops(pc, lc, n_lat)},
    }
    write_json(os.path.join(pack, "manifest.json"), manifest)
    log(f"pack: {len(files) + 1} files, {total / 1e6:.2f} MB; painter forward {manifest['stats']}")
    log(f"total {time.time() - t_start:.1f}s")
    return manifest


def manifest_model_fields(pc: PackConfig, tok: ByteBPETokenizer) -> dict:
    """The manifest fields every pack made by these tools shares (file paths, model configs, prompts, defaults,
    limits), in manifest order; tools/shapes/make_pack.py uses them too. `paths.reasoner_weights` names the file
    `write_reasoner_weights` (tools/rgvlm/safetensors_io.py) writes: every pack made with these fields writes it."""
    return {
        "paths": {
            "config": "config.json",
            "generation_config": "generation_config.json",
            "preprocessor_config": "preprocessor_config.json",
            "processor_config": "processor_config.json",
            "tokenizer": "tokenizer.json",
            "tokenizer_config": "tokenizer_config.json",
            "painter_config": "painter_config.json",
            "vae_config": "vae_config.json",
            "vision_encoder": "onnx/vision_encoder.onnx",
            "embed_tokens": "onnx/embed_tokens.onnx",
            "decoder": "onnx/decoder_model_merged.onnx",
            "reasoner_weights": REASONER_WEIGHTS,
            "vae_encoder": "onnx/vae_encoder.onnx",
            "vae_decoder": "onnx/vae_decoder.onnx",
            "painter_onnx": "onnx/painter.onnx",
            "painter_weights": {
                "f32": "painter.f32.safetensors",
                "int8": "painter.int8.safetensors",
                "int4": "painter.int4.safetensors",
            },
        },
        "reasoner": reasoner_manifest(pc, tok),
        "connector": dict(vars(pc.connector)),
        "painter": dict(vars(pc.painter)),
        "vae": dict(vars(pc.vae)),
        "prompts": {
            "system_cot": SYSTEM_PROMPT_COT,
            "system_plain": SYSTEM_PROMPT_PLAIN,
            "instruction_prefix": INSTRUCTION_PREFIX,
            "negative_prompt": pc.negative_prompt,
        },
        "defaults": {
            "steps": pc.default_steps,
            "guidance": pc.default_guidance,
            "width": pc.default_width,
            "height": pc.default_height,
            "seed": pc.default_seed,
            "cot": True,
            "max_new_tokens": pc.default_max_new_tokens,
            "edit_strength": 0.6,
        },
        "limits": {"min_size": 32, "max_size": 256, "size_multiple": 16, "max_steps": 200},
    }


def build_fixtures(pc, tok, reasoner, painter: Painter, vae, variants, fix, log) -> dict:
    t = time.time()
    r = pc.reasoner
    stop_understand = list(r.eos_token_ids)
    stop_imagine = list(r.eos_token_ids) + [tok.token_to_id["</answer>"]]
    out: dict = {
        "about": "PyTorch reference outputs of the tiny-random pack (tools/make_tiny_random.py). All .bin files are "
        "raw little-endian float32, row-major, shapes given here. Checksums are float64 sums over the f32 values.",
        "stop_ids_understand": stop_understand,
        "stop_ids_imagine": stop_imagine,
        "min_margin_required": MIN_MARGIN,
    }
    margins_all = []

    # ---- noise
    out["noise"] = {
        "seed": 42,
        "first16": [float(x) for x in seeded_normal(42, 16)],
        "first16_words": [int(x) for x in philox_words(42, 16)],
        "seed_7_first4": [float(x) for x in seeded_normal(7, 4)],
    }

    # ---- tokenizer edge cases (Python ids; the node test compares @huggingface/tokenizers on tokenizer.json)
    cases = [
        "Hello  world\n\n it's 3.14   x",
        "draw <image> the <think>x</think>\t\tend  ",
        "\u00dcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e emoji \U0001f389 ok",
        "a\u00a0b\u2003c \x1c d",
        "<|im_start|>user\nhi<|im_end|>\n",
        "  leading",
        "trailing   ",
        "I'LL don't 'sam",
        "x\r\ny",
        "\n\n\nz",
        "3 red circles + 2 blue squares = 5 shapes!!",
        "<answer> 5 green apples </answer><|endoftext|>",
        "",
    ]
    out["tokenizer_cases"] = [{"text": c, "ids": tok.encode(c)} for c in cases]

    # ---- greedy prompts
    img32 = shape_image_32()
    write_bytes(os.path.join(fix, "understand_image.png"), encode_png(img32))
    pv = P.pixel_values_from_rgb(img32, r.vision.image_mean, r.vision.image_std)
    write_bin(os.path.join(fix, "understand_pixel_values.bin"), pv)
    prompts = [
        ("cot", P.imagine_messages(IMAGINE["prompt"], cot=True), None),
        ("plain", [{"role": "system", "content": SYSTEM_PROMPT_PLAIN},
                   {"role": "user", "content": "What is two plus three?"}], None),
        ("image", [{"role": "system", "content": SYSTEM_PROMPT_PLAIN},
                   {"role": "user", "content": "<image>\nHow many shapes are in this picture?"}], pv),
    ]
    greedy = []
    for name, msgs, pix in prompts:
        text, ids = P.render_prompt(tok, pc, msgs)
        g = P.generate(reasoner, ids, pix, GREEDY_MAX_NEW, stop_understand)
        margins_all += g.margins
        with torch.no_grad():
            feats = reasoner.vision(torch.from_numpy(pix)).numpy() if pix is not None else None
        entry = {
            "name": name,
            "messages": msgs,
            "rendered": text,
            "input_ids": ids,
            "prompt_length": len(ids),
            "max_new_tokens": GREEDY_MAX_NEW,
            "generated_ids": g.generated,
            "generated_text": tok.decode(g.generated),
            "hidden_rows": int(g.hidden.shape[0]),
            "hidden_checksum": P.checksum(g.hidden),
            "prefill_hidden_checksum": P.checksum(g.hidden[: len(ids)]),
            "min_margin": min(g.margins),
        }
        if pix is not None:
            entry["image"] = "understand_image.png"
            entry["pixel_values"] = {"file": "understand_pixel_values.bin", "shape": list(pv.shape)}
            entry["image_features_checksum"] = P.checksum(feats)
        greedy.append(entry)
    out["greedy"] = greedy

    # ---- painter velocity for a fixed input
    rng = np.random.default_rng(7)
    cond = rng.standard_normal((1, 8, pc.connector.input_size)).astype(np.float32)
    lat = rng.standard_normal((1, pc.painter.latent_channels, 16, 16)).astype(np.float32)
    tt = 0.3
    write_bin(os.path.join(fix, "painter_condition.bin"), cond)
    write_bin(os.path.join(fix, "painter_latents.bin"), lat)
    vel = {}
    for mode, sd in variants.items():
        p2 = Painter(pc.connector, pc.painter).eval()
        p2.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()})
        vel[mode] = P.velocity(p2, cond[0], lat, tt)
        write_bin(os.path.join(fix, f"painter_velocity.{mode}.bin"), vel[mode])
    with torch.no_grad():
        conn = painter.connector(torch.from_numpy(cond)).numpy()
        temb = painter.painter.t_embedder(torch.tensor([tt])).numpy()
        tfreq = timestep_embedding(torch.tensor([tt * pc.painter.timestep_scale]), pc.painter.timestep_freq_dim,
                                   pc.painter.timestep_max_period).numpy()
        pos = sincos_2d(8, 8, pc.painter.hidden_size, pc.painter).numpy()
    write_bin(os.path.join(fix, "painter_connector_out.bin"), conn)
    write_bin(os.path.join(fix, "painter_temb.bin"), temb)
    write_bin(os.path.join(fix, "painter_timestep_freq.bin"), tfreq)
    write_bin(os.path.join(fix, "painter_pos_embed_8x8.bin"), pos)
    out["painter"] = {
        "condition": {"file": "painter_condition.bin", "shape": list(cond.shape)},
        "latents": {"file": "painter_latents.bin", "shape": list(lat.shape)},
        "timestep": tt,
        "velocity": {m: {"file": f"painter_velocity.{m}.bin", "shape": list(v.shape), "checksum": P.checksum(v)}
                     for m, v in vel.items()},
        "tolerance": 1e-4,
        "intermediates": {
            "connector_out": {"file": "painter_connector_out.bin", "shape": list(conn.shape)},
            "temb": {"file": "painter_temb.bin", "shape": list(temb.shape)},
            "timestep_freq": {"file": "painter_timestep_freq.bin", "shape": list(tfreq.shape)},
            "pos_embed_8x8": {"file": "painter_pos_embed_8x8.bin", "shape": list(pos.shape)},
        },
        "quantised_vs_f32_max_abs_diff": {m: float(np.abs(v - vel["f32"]).max()) for m, v in vel.items()},
    }

    # ---- negative condition (prefill only), shared by Imagine and Edit
    neg_text, neg_ids = P.render_prompt(tok, pc, P.negative_messages(pc))
    neg = P.generate(reasoner, neg_ids, None, 0, stop_imagine)
    write_bin(os.path.join(fix, "negative_condition.bin"), neg.hidden)
    negative = {
        "messages": P.negative_messages(pc),
        "rendered": neg_text,
        "input_ids": neg_ids,
        "condition_length": int(neg.hidden.shape[0]),
        "condition": {"file": "negative_condition.bin", "shape": list(neg.hidden.shape)},
        "checksum": P.checksum(neg.hidden),
    }
    out["negative"] = negative

    # ---- Imagine
    I = IMAGINE
    msgs = P.imagine_messages(I["prompt"], cot=I["cot"])
    text, ids = P.render_prompt(tok, pc, msgs)
    g = P.generate(reasoner, ids, None, I["max_new_tokens"], stop_imagine)
    margins_all += g.margins
    shape = (1, pc.painter.latent_channels, I["height"] // pc.vae.downscale, I["width"] // pc.vae.downscale)
    z0 = latent_noise(I["seed"], shape)
    zs = P.sample(painter, g.hidden, neg.hidden, z0, 0.0, I["steps"], I["guidance"])
    img = P.vae_decode(vae, pc, zs[-1])
    pix = P.to_pixels(img)
    write_bin(os.path.join(fix, "imagine_condition.bin"), g.hidden)
    write_bin(os.path.join(fix, "imagine_latents.bin"), np.stack(zs, 0))
    write_bin(os.path.join(fix, "imagine_image.bin"), img)
    write_bytes(os.path.join(fix, "imagine.png"), encode_png(pix))
    out["imagine"] = {
        **I,
        "messages": msgs,
        "rendered": text,
        "input_ids": ids,
        "generated_ids": g.generated,
        "generated_text": tok.decode(g.generated),
        "condition_length_positive": int(g.hidden.shape[0]),
        "condition_length_negative": negative["condition_length"],
        "condition": {"file": "imagine_condition.bin", "shape": list(g.hidden.shape), "checksum": P.checksum(g.hidden)},
        "sigmas": [float(s) for s in P.sigmas(0.0, I["steps"])],
        "latent_shape": list(shape),
        "latents": {"file": "imagine_latents.bin", "shape": [I["steps"] + 1, *shape],
                    "note": "z_0 (the seeded noise) .. z_N (after the last Euler step)"},
        "image": {"file": "imagine_image.bin", "shape": list(img.shape), "checksum": P.checksum(img),
                  "note": "VAE decoder output in [-1, 1], before clamping"},
        "png": "imagine.png",
        "pixel_checksum": int(pix.astype(np.int64).sum()),
    }

    # ---- Edit
    E = EDIT
    img64 = edit_image_64()
    write_bytes(os.path.join(fix, "edit_input.png"), encode_png(img64))
    small = img64[::2, ::2]
    epv = P.pixel_values_from_rgb(small, r.vision.image_mean, r.vision.image_std)
    write_bin(os.path.join(fix, "edit_pixel_values.bin"), epv)
    msgs = P.imagine_messages(E["instruction"], cot=E["cot"], with_image=True)
    text, ids = P.render_prompt(tok, pc, msgs)
    g = P.generate(reasoner, ids, epv, E["max_new_tokens"], stop_imagine)
    margins_all += g.margins
    x = P.image_to_vae_input(img64)
    x1 = P.vae_encode(vae, pc, x)
    t0 = np.float32(1.0) - np.float32(E["strength"])
    shape = (1, pc.painter.latent_channels, E["height"] // pc.vae.downscale, E["width"] // pc.vae.downscale)
    noise = latent_noise(E["seed"], shape)
    z0 = (t0 * x1 + (np.float32(1.0) - t0) * noise).astype(np.float32)
    zs = P.sample(painter, g.hidden, neg.hidden, z0, float(t0), E["steps"], E["guidance"])
    img = P.vae_decode(vae, pc, zs[-1])
    pix = P.to_pixels(img)
    write_bin(os.path.join(fix, "edit_x1.bin"), x1)
    write_bin(os.path.join(fix, "edit_condition.bin"), g.hidden)
    write_bin(os.path.join(fix, "edit_latents.bin"), np.stack(zs, 0))
    write_bin(os.path.join(fix, "edit_image.bin"), img)
    write_bytes(os.path.join(fix, "edit.png"), encode_png(pix))
    out["edit"] = {
        **E,
        "input_png": "edit_input.png",
        "reasoner_image_note": "the reasoner sees the input halved to 32x32 (it is made of 2x2 blocks, so any "
        "2:1 resampler gives the same pixels)",
        "pixel_values": {"file": "edit_pixel_values.bin", "shape": list(epv.shape)},
        "messages": msgs,
        "rendered": text,
        "input_ids": ids,
        "generated_ids": g.generated,
        "generated_text": tok.decode(g.generated),
        "condition_length_positive": int(g.hidden.shape[0]),
        "condition_length_negative": negative["condition_length"],
        "condition": {"file": "edit_condition.bin", "shape": list(g.hidden.shape), "checksum": P.checksum(g.hidden)},
        "x1": {"file": "edit_x1.bin", "shape": list(x1.shape), "checksum": P.checksum(x1),
               "note": "(vae_encoder(input * 2 - 1 mean) - shift) * scale"},
        "t0": float(t0),
        "sigmas": [float(s) for s in P.sigmas(float(t0), E["steps"])],
        "latent_shape": list(shape),
        "latents": {"file": "edit_latents.bin", "shape": [E["steps"] + 1, *shape],
                    "note": "z_0 = t0 * x1 + (1 - t0) * noise .. z_N"},
        "image": {"file": "edit_image.bin", "shape": list(img.shape), "checksum": P.checksum(img)},
        "png": "edit.png",
        "pixel_checksum": int(pix.astype(np.int64).sum()),
    }

    out["min_margin"] = min(margins_all)
    if out["min_margin"] <= MIN_MARGIN:
        raise SystemExit(f"greedy margin {out['min_margin']} <= {MIN_MARGIN}: pick another init seed")
    write_json(os.path.join(fix, "fixtures.json"), out)
    log(f"fixtures: min greedy margin {out['min_margin']:.4f} ({time.time() - t:.1f}s)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="rebuild in a temp dir and compare bytes with the tree")
    ap.add_argument("--out", default=ROOT, help="repository root to write into (default: this checkout)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # torch.onnx tracer chatter
    torch.manual_seed(0)
    pc = tiny_random()
    log = lambda s: print(s, flush=True)  # noqa: E731
    if not args.check:
        build_pack(pc, args.out, log)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build_pack(pc, tmp, log)
        bad = []
        for rel in (PACK_REL, FIX_REL):
            a, b = os.path.join(ROOT, rel), os.path.join(tmp, rel)
            cmp = filecmp.dircmp(a, b)
            stack = [cmp]
            while stack:
                c = stack.pop()
                bad += [os.path.join(c.left, x) for x in c.left_only + c.right_only + c.diff_files]
                _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
                bad += [os.path.join(c.left, x) for x in mismatch + errors]
                stack += list(c.subdirs.values())
        if bad:
            print("DIFFERENT:\n  " + "\n  ".join(sorted(set(bad))))
            return 1
        print("identical")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
