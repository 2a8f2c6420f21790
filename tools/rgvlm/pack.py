"""The one pack writer of the tools: what every pack made here holds (tokenizer.json, the HF-style config files,
the six ONNX files, the reasoner weights, the painter safetensors in f32, int8 and int4) and its manifest.json
(file list with sizes and sha256, model fields, requirements, painter FLOPs). tools/make_tiny_random.py and
tools/shapes/make_pack.py write their packs through it; the manifest format is docs/formats.md's.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from tools.rgvlm.config import (
    INSTRUCTION_PREFIX,
    SPECIAL_TOKENS,
    SYSTEM_PROMPT_COT,
    SYSTEM_PROMPT_PLAIN,
    PackConfig,
)
from tools.rgvlm.onnx_export import export_all
from tools.rgvlm.safetensors_io import (
    REASONER_WEIGHT_FILES,
    REASONER_WEIGHTS,
    quantise_state,
    write_reasoner_weights,
    write_safetensors,
)
from tools.rgvlm.tokenizer import CHAT_TEMPLATE, ByteBPETokenizer, dumps_json

PAINTER_MODES = ("f32", "int8", "int4")
# The reasoner variants the shipped packs carry: f32 only (the app converts to f16/bf16/int8/int4 at load). A pack made
# with more modes names them all in `paths.reasoner_weights` (a record); with f32 alone the field is a single path.
SHIPPED_REASONER_MODES = ("f32",)


# --------------------------------------------------------------------------------------------- files
def _config_fields(c) -> dict:
    """A config's fields for JSON, leaving out the unset optional ones (LongRoPE's) so plain packs stay as they were."""
    return {k: v for k, v in vars(c).items() if v is not None}


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


# --------------------------------------------------------------------------------------------- manifest fields
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
        "connector": _config_fields(pc.connector),
        "painter": _config_fields(pc.painter),
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


def reasoner_weights_field(modes=SHIPPED_REASONER_MODES):
    """`paths.reasoner_weights` for a pack carrying the reasoner in `modes`: one path for f32 alone, else a record."""
    if tuple(modes) == ("f32",):
        return REASONER_WEIGHTS
    return {mode: REASONER_WEIGHT_FILES[mode] for mode in modes}


def manifest_model_fields(pc: PackConfig, tok: ByteBPETokenizer, reasoner_modes=SHIPPED_REASONER_MODES) -> dict:
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
            "reasoner_weights": reasoner_weights_field(reasoner_modes),
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
        "connector": _config_fields(pc.connector),
        "painter": _config_fields(pc.painter),
        "vae": dict(vars(pc.vae)),
        "prompts": {
            "system_cot": SYSTEM_PROMPT_COT,
            "system_plain": SYSTEM_PROMPT_PLAIN,
            "instruction_prefix": INSTRUCTION_PREFIX,
            "negative_prompt": pc.negative_prompt,
            "negative_instruction_prefix": pc.negative_instruction_prefix,
        },
        "defaults": {
            "steps": pc.default_steps,
            "guidance": pc.default_guidance,
            "width": pc.default_width,
            "height": pc.default_height,
            "seed": pc.default_seed,
            "cot": True,
            "max_new_tokens": pc.default_max_new_tokens,
            "edit_strength": pc.default_edit_strength,
        },
        "limits": {"min_size": 32, "max_size": 256, "size_multiple": 16, "max_steps": 200},
    }


# --------------------------------------------------------------------------------------------- writing
def write_model_files(pack: str, pc: PackConfig, tok: ByteBPETokenizer, reasoner, painter, vae,
                      reasoner_modes=SHIPPED_REASONER_MODES) -> dict:
    """Writes the model files of a pack into `pack`: tokenizer.json, the HF-style configs, the ONNX files, the
    painter weights in every PAINTER_MODES variant and the reasoner weights. Returns the quantised painter states
    by mode (what each safetensors file holds)."""
    write_json(os.path.join(pack, "tokenizer.json"), tok.to_tokenizer_json())
    for name, obj in hf_configs(pc, tok).items():
        write_json(os.path.join(pack, name), obj)
    export_all(reasoner, painter, vae, pack)
    state = {k: v.detach().numpy().astype(np.float32) for k, v in painter.state_dict().items()}
    quantised = {}
    for mode in PAINTER_MODES:
        quantised[mode] = quantise_state(state, mode)
        write_safetensors(
            os.path.join(pack, f"painter.{mode}.safetensors"), quantised[mode], {"format": "pt", "rgvlm.quantisation": mode}
        )
    write_reasoner_weights(reasoner, pack, reasoner_modes)
    return quantised


def list_files(pack: str) -> list[dict]:
    """Every file under `pack` but manifest.json, sorted by path: {"path", "bytes", "sha256"}."""
    files = []
    for dirpath, _, names in os.walk(pack):
        for n in names:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, pack).replace(os.sep, "/")
            if rel == "manifest.json":
                continue
            files.append({"path": rel, "bytes": os.path.getsize(full), "sha256": sha256(full)})
    files.sort(key=lambda f: f["path"])
    return files


def latent_tokens(pc: PackConfig) -> int:
    """Painter tokens of an image at the pack's default size."""
    unit = pc.vae.downscale * pc.painter.patch_size
    return (pc.default_height // unit) * (pc.default_width // unit)


def requirements(pc: PackConfig, files: list[dict]) -> dict:
    """What a device needs: the weights the runtime loads (the ONNX files but the painter's, the f32 painter), the
    reasoner's KV cache at its longest and the painter's activations at the default size."""
    r = pc.reasoner
    by_path = {f["path"]: f["bytes"] for f in files}
    kv_bytes = 2 * r.num_hidden_layers * r.num_key_value_heads * r.head_dim * r.max_position_embeddings * 4
    L_max = r.max_position_embeddings + 1 + latent_tokens(pc)
    act_bytes = 2 * L_max * (8 * pc.painter.hidden_size + pc.painter.num_attention_heads * L_max) * 4
    weights_bytes = sum(b for p, b in by_path.items() if p.endswith(".onnx") and p != "onnx/painter.onnx")
    weights_bytes += by_path["painter.f32.safetensors"]
    return {"gpu_features": [], "weights_bytes": weights_bytes, "memory_bytes": weights_bytes + kv_bytes + act_bytes}


def write_manifest(pack: str, pc: PackConfig, tok: ByteBPETokenizer, card: dict, condition_length: int,
                   extra: dict | None = None) -> dict:
    """Writes manifest.json over the files now in `pack`. `card`: name, description, licence and source (in that
    order); `extra`: pack-specific fields after the model fields (e.g. examples, rewards); `condition_length`: the
    condition rows the painter FLOPs are counted at."""
    files = list_files(pack)
    manifest = {
        "format": "rg-vlm-pack",
        "format_version": 1,
        "id": pc.pack_id,
        **card,
        "files": files,
        "total_bytes": sum(f["bytes"] for f in files),
        **manifest_model_fields(pc, tok),
        **(extra or {}),
        "requirements": requirements(pc, files),
        "stats": {"flops": painter_flops(pc, condition_length, latent_tokens(pc))},
    }
    write_json(os.path.join(pack, "manifest.json"), manifest)
    return manifest
