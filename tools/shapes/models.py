"""The shapes model: its pack config, its tokenizer and stop tokens, and the checkpoints the stages write and read
(models built from them). Checkpoints live in CKPT (default /tmp/shapes_ckpt, override with $SHAPES_CKPT); they are
never committed.
"""

from __future__ import annotations

import os
from functools import lru_cache

import torch

from tools.rgvlm.config import SPECIAL_TOKENS, ConnectorConfig, PackConfig, PainterConfig, ReasonerConfig, VaeConfig, VisionConfig
from tools.rgvlm.corpus import corpus_text as shared_corpus
from tools.rgvlm.model import build
from tools.rgvlm.tokenizer import ByteBPETokenizer, train_bpe
from tools.shapes import world as W

CKPT = os.environ.get("SHAPES_CKPT", "/tmp/shapes_ckpt")


# The reasoner's vision input: (image_size, patch_size). Both give 16 image tokens. (32, 8) is the first v2 pack's
# (the world's 64x64 images box-averaged to 32x32: 7-px shapes, 40-65 % understanding); (64, 16) reads the images
# at their full size, one 16x16 patch per token (the current pack's).
VISION_INPUTS = {32: 8, 64: 16}
VISION_SIZE = int(os.environ.get("SHAPES_VISION_SIZE", "64"))


def shapes_config(vision_size: int | None = None) -> PackConfig:
    """The smallest model that can do the job (pack well under 25 MB). The shipped pack was trained before the
    MindOmni mechanics were matched, so its config names the old choices explicitly (post-norm condition without
    the </answer> row, a connector norm, one shared time embedder fed t * 1000, the bare negative text).
    vision_size: the vision input's side (VISION_INPUTS; default VISION_SIZE, $SHAPES_VISION_SIZE)."""
    size = VISION_SIZE if vision_size is None else vision_size
    vision = VisionConfig(image_size=size, patch_size=VISION_INPUTS[size], hidden_size=64, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=128)
    reasoner = ReasonerConfig(vocab_size=1024, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                              num_key_value_heads=2, head_dim=32, intermediate_size=256, max_position_embeddings=512,
                              vision=vision, num_image_tokens=16, condition_hidden="post_norm",
                              condition_answer_end_row=False)
    connector = ConnectorConfig(input_size=128, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                                num_key_value_heads=4, head_dim=32, intermediate_size=256, final_norm=True)
    painter = PainterConfig(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
                            head_dim=32, intermediate_size=256, latent_channels=4, patch_size=4,
                            timestep_scale=1000.0, time_embedders="shared")
    # x2 down (32x32 latents) so a 14-px shape's corners survive; patch 4 keeps the painter at 64 tokens
    vae = VaeConfig(downscale=2, block_channels=[32, 64], latent_channels=4, scaling_factor=1.0, shift_factor=0.0)
    pc = PackConfig(pack_id="shapes", reasoner=reasoner, connector=connector, painter=painter, vae=vae,
                    negative_prompt="blurry, low quality, distorted", negative_instruction_prefix=False,
                    default_steps=50, default_guidance=3.0,
                    default_max_new_tokens=64,
                    # chosen on the validation split's edit tasks (0.6 / 0.8 / 1.0; tools/README.md, "Edit")
                    default_edit_strength=0.8)
    pc.init.lm_head_gain = 1.0
    return pc


@lru_cache(maxsize=1)
def tokenizer() -> ByteBPETokenizer:
    pc = shapes_config()
    vocab, merges = train_bpe(shared_corpus() + W.corpus_text(), pc.reasoner.vocab_size, SPECIAL_TOKENS)
    tok = ByteBPETokenizer(vocab, merges, SPECIAL_TOKENS)
    assert tok.token_to_id["<image>"] == pc.reasoner.image_token_id
    assert [tok.token_to_id["<|im_end|>"], tok.token_to_id["<|endoftext|>"]] == pc.reasoner.eos_token_ids
    return tok


def stop_ids(imagine: bool) -> list[int]:
    tok = tokenizer()
    ids = list(shapes_config().reasoner.eos_token_ids)
    return ids + [tok.token_to_id["</answer>"]] if imagine else ids


def ckpt_path(name: str) -> str:
    os.makedirs(CKPT, exist_ok=True)
    return os.path.join(CKPT, name)


def _cpu(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    if isinstance(x, dict):
        return {k: _cpu(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_cpu(v) for v in x)
    return x


def save(obj: dict, name: str) -> None:
    """Written with every tensor on the CPU (a run on a GPU loads here)."""
    tmp = ckpt_path(name + ".tmp")
    torch.save(_cpu(obj), tmp)
    os.replace(tmp, ckpt_path(name))


def load(name: str):
    p = ckpt_path(name)
    return torch.load(p) if os.path.exists(p) else None


def fresh_models(pc: PackConfig | None = None):
    torch.manual_seed(0)
    return build(pc or shapes_config())


def load_models(reasoner_from: str | None, painter_from: str | None, vae_from: str | None = "vae.pt"):
    """Models with the weights of the named checkpoints (random init where a checkpoint is missing or None)."""
    pc = shapes_config()
    reasoner, painter, vae = fresh_models()
    meta = {}
    for name, mod, key in ((reasoner_from, reasoner, "reasoner"), (painter_from, painter, "painter"), (vae_from, vae, "vae")):
        if name is None:
            continue
        ck = load(name)
        if ck is None or key not in ck:
            print(f"[load] {name}: no {key} (random init)", flush=True)
            continue
        mod.load_state_dict(ck[key])
        meta[key] = name
        if key == "vae":
            pc.vae.scaling_factor = float(ck["scaling_factor"])
            pc.vae.shift_factor = float(ck["shift_factor"])
    return pc, reasoner, painter, vae, meta
