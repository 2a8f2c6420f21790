"""Every dimension of the RG-VLM miniature, one dataclass per model.

The field names are the JSON field names of the pack's configs (manifest.json, painter_config.json,
vae_config.json) and of src/packs/manifest.ts. Change one side, change the other in the same commit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

SYSTEM_PROMPT_COT = (
    "You are a helpful assistant. When the user requests an image, the assistant first thinks about the "
    "reasoning process in the mind and then provides the user with concise prompt as the answer. The reasoning "
    "process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., "
    "<think> reasoning process here </think><answer> answer here </answer>."
)
SYSTEM_PROMPT_PLAIN = "You are a helpful assistant."
INSTRUCTION_PREFIX = "Generate an image according to the following instructions\n"
# MindOmni's negative (CFG) text (app.py `NEGATIVE_PROMPT`, newlines included): the default negative prompt.
NEGATIVE_PROMPT_MINDOMNI = (
    "\nlow quality, jpeg artifacts, ugly, duplicate, morbid, mutilated, extra fingers, mutated hands, poorly drawn "
    "hands, poorly drawn face, mutation, deformed, blurry, dehydrated, bad anatomy, bad proportions, extra limbs, "
    "cloned face, disfigured, gross proportions, malformed limbs, missing arms, missing legs, extra arms, extra legs, "
    "fused fingers, too many fingers.\n"
)

# Special tokens, in id order, appended after the BPE vocabulary.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<image>",
]


@dataclass
class VisionConfig:
    """Tiny ViT: Conv patch embed (as in CLIP), learned position embeddings, pre-LN layers, post LN."""

    image_size: int = 32
    patch_size: int = 8
    num_channels: int = 3
    hidden_size: int = 32
    num_hidden_layers: int = 1
    num_attention_heads: int = 2
    intermediate_size: int = 64
    layer_norm_eps: float = 1e-5
    # pixel_values = (pixel / 255 - mean) / std, NCHW RGB
    image_mean: list = field(default_factory=lambda: [0.5, 0.5, 0.5])
    image_std: list = field(default_factory=lambda: [0.5, 0.5, 0.5])

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


@dataclass
class ReasonerConfig:
    """Qwen2-style decoder + vision tower + llava MLP projector (Linear, GELU, Linear)."""

    vocab_size: int = 1024
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 16
    intermediate_size: int = 128
    max_position_embeddings: int = 1024
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = False
    attention_bias: bool = True  # Qwen2: q/k/v have biases, o_proj has none
    vision: VisionConfig = field(default_factory=VisionConfig)
    image_token: str = "<image>"
    image_token_id: int = 1023
    num_image_tokens: int = 16
    bos_token_id: int | None = None
    eos_token_ids: list = field(default_factory=lambda: [1018, 1016])  # <|im_end|>, <|endoftext|>
    pad_token_id: int = 1016
    # The painter's condition (docs/formats.md "Reasoner conditioning"). MindOmni: the last decoder layer's output
    # before the final norm ("pre_norm"), and the row of a closing </answer> is computed (MindOmni generates on to
    # <|im_end|>). "post_norm" / False: the choices the shipped shapes pack was trained with.
    condition_hidden: str = "pre_norm"
    condition_answer_end_row: bool = True


@dataclass
class ConnectorConfig:
    """Linear(reasoner hidden -> hidden) + Phi-3 decoder layers (causal); MindOmni has no final norm
    (`final_norm` True: an RMSNorm `connector.norm` after the layers, as the shipped shapes pack was trained)."""

    input_size: int = 64
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    num_key_value_heads: int = 2
    head_dim: int = 32
    intermediate_size: int = 128
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    final_norm: bool = False
    # Phi-3's LongRoPE (docs/formats.md "Painter"), MindOmni's connector takes the image decoder's config
    rope_scaling: Optional[dict] = None
    original_max_position_embeddings: Optional[int] = None
    max_position_embeddings: Optional[int] = None


@dataclass
class PainterConfig:
    """OmniGen-style decoder-only DiT over [condition][time token][latent patches]."""

    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    num_key_value_heads: int = 2
    head_dim: int = 32
    intermediate_size: int = 128
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    latent_channels: int = 4
    patch_size: int = 2
    timestep_freq_dim: int = 256
    # OmniGen: t in [0, 1] fed unscaled (scale 1) to two embedders, `time_token` (the sequence's time token) and
    # `t_embedder` (the final layer's adaLN input). "shared": one `t_embedder` (linear_1 / linear_2) for both, as the
    # shipped shapes pack was trained (with timestep_scale 1000).
    timestep_scale: float = 1.0
    time_embedders: str = "separate"
    timestep_max_period: float = 10000.0
    final_norm_eps: float = 1e-6  # the final layer's LayerNorm (no affine)
    # 2D sin-cos position embedding (see docs/formats.md): coordinate = (index + offset) * pos_embed_scale,
    # offset = (pos_embed_max_size - grid) // 2 when pos_embed_max_size > 0, else 0.
    pos_embed_max_size: int = 0
    pos_embed_scale: float = 1.0
    pos_embed_base: float = 10000.0
    # Phi-3's LongRoPE: {"type": "longrope" | "su", "short_factor": [head_dim / 2], "long_factor": [...]}; None: plain
    rope_scaling: Optional[dict] = None
    original_max_position_embeddings: Optional[int] = None
    max_position_embeddings: Optional[int] = None


@dataclass
class VaeConfig:
    in_channels: int = 3
    latent_channels: int = 4
    downscale: int = 4
    block_channels: list = field(default_factory=lambda: [16, 32])
    scaling_factor: float = 0.8
    shift_factor: float = 0.1


@dataclass
class InitConfig:
    """Random-init recipe (numpy PCG64, one stream per tensor in sorted-name order)."""

    seed: int = 1
    linear_gain: float = 1.0  # std = gain / sqrt(in)
    embed_std: float = 1.0
    lm_head_gain: float = 6.0  # chosen (with seed 1) so every fixture greedy step has top1 - top2 > 0.05
    norm_jitter: float = 0.1  # norm weights = 1 + jitter * N(0,1)
    bias_std: float = 0.02


@dataclass
class PackConfig:
    pack_id: str = "tiny-random"
    reasoner: ReasonerConfig = field(default_factory=ReasonerConfig)
    connector: ConnectorConfig = field(default_factory=ConnectorConfig)
    painter: PainterConfig = field(default_factory=PainterConfig)
    vae: VaeConfig = field(default_factory=VaeConfig)
    init: InitConfig = field(default_factory=InitConfig)
    negative_prompt: str = NEGATIVE_PROMPT_MINDOMNI
    # MindOmni (app.py): the negative user turn is the instruction prefix + the negative text. False: the negative
    # text alone (the shipped shapes pack).
    negative_instruction_prefix: bool = True
    default_steps: int = 50
    default_guidance: float = 3.0
    default_width: int = 64
    default_height: int = 64
    default_seed: int = 42
    default_max_new_tokens: int = 256
    # Edit's default strength (manifest defaults.edit_strength): how far from the input picture the painter starts
    default_edit_strength: float = 0.6

    def to_dict(self) -> dict:
        return asdict(self)


def tiny_random() -> PackConfig:
    return PackConfig()
