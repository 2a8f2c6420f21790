"""What the stages feed the models: images as the reasoner's pixel values and the VAE's input, and chat texts as
token batches (prompt + reply, right-padded, with the loss mask on the reply).
"""

from __future__ import annotations

import numpy as np
import torch

from tools.rgvlm import pipeline as P
from tools.rgvlm.config import SYSTEM_PROMPT_PLAIN, PackConfig
from tools.rgvlm.tokenizer import render_chat
from tools.shapes.models import shapes_config, tokenizer


def downsample_for_reasoner(rgb: np.ndarray, size: int) -> np.ndarray:
    """64x64 -> size x size by box averaging (rounded), the reasoner's vision input."""
    f = rgb.shape[0] // size
    x = rgb.astype(np.float32).reshape(size, f, size, f, 3).mean(axis=(1, 3))
    return np.floor(x + 0.5).astype(np.uint8)


def pixel_values(rgbs: list[np.ndarray], pc: PackConfig) -> torch.Tensor:
    v = pc.reasoner.vision
    return torch.from_numpy(np.concatenate([P.pixel_values_from_rgb(downsample_for_reasoner(r, v.image_size), v.image_mean, v.image_std) for r in rgbs]))


def to_vae_input(rgbs: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([P.image_to_vae_input(r) for r in rgbs]))


def imagine_text(prompt: str, cot: bool) -> str:
    return render_chat(P.imagine_messages(prompt, cot=cot), add_generation_prompt=True)


def understand_text(question: str, with_image: bool) -> str:
    user = ("<image>\n" if with_image else "") + question
    return render_chat([{"role": "system", "content": SYSTEM_PROMPT_PLAIN}, {"role": "user", "content": user}], True)


def reasoning_text(question: str) -> str:
    """A plain question under the chain-of-thought system prompt (no instruction prefix: no picture is asked for)."""
    from tools.rgvlm.config import SYSTEM_PROMPT_COT

    return render_chat([{"role": "system", "content": SYSTEM_PROMPT_COT}, {"role": "user", "content": question}], True)


def encode_pair(prompt_text: str, reply: str, stop: str) -> tuple[list[int], int]:
    """ids of prompt + reply + stop token, and the index of the first reply token. Image tokens expanded."""
    tok = tokenizer()
    pc = shapes_config()
    p = tok.encode(prompt_text.replace("<image>", "<image>" * pc.reasoner.num_image_tokens))
    r = tok.encode(reply) + ([tok.token_to_id[stop]] if stop else [])
    return p + r, len(p)


def lm_batch(seqs: list[tuple[list[int], int]]):
    """Right-padded ids [B, L], attention mask [B, L], loss mask [B, L] (1 where the token is a target)."""
    L = max(len(s) for s, _ in seqs)
    B = len(seqs)
    ids = torch.full((B, L), tokenizer().token_to_id["<|endoftext|>"], dtype=torch.int64)
    am = torch.zeros(B, L, dtype=torch.int64)
    lm = torch.zeros(B, L)
    for b, (s, start) in enumerate(seqs):
        ids[b, : len(s)] = torch.tensor(s)
        am[b, : len(s)] = 1
        lm[b, start : len(s)] = 1.0
    return ids, am, lm
