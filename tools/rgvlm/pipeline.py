"""Reference inference with the PyTorch model: greedy generation with a KV cache, Imagine, Edit.

Semantics are those of docs/formats.md ("Reasoner conditioning", "Painter", "Sampler", "VAE").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .config import INSTRUCTION_PREFIX, SYSTEM_PROMPT_COT, SYSTEM_PROMPT_PLAIN, PackConfig
from .model import Painter, Reasoner, Vae
from .noise import latent_noise
from .tokenizer import ByteBPETokenizer, expand_image_tokens, render_chat


@dataclass
class Generation:
    input_ids: list
    generated: list = field(default_factory=list)
    # [prompt_len + n_generated - 1 (+ 1 for a row stop token), hidden] (prefill only: [prompt_len, hidden])
    hidden: np.ndarray | None = None
    margins: list = field(default_factory=list)  # top1 - top2 logit at every greedy step


def pixel_values_from_rgb(rgb: np.ndarray, mean, std) -> np.ndarray:
    """uint8 [H, W, 3] -> f32 [1, 3, H, W]: (pixel / 255 - mean) / std."""
    x = rgb.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


def image_to_vae_input(rgb: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] -> f32 [1, 3, H, W] in [-1, 1]: pixel / 127.5 - 1."""
    x = rgb.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


def to_pixels(x: np.ndarray) -> np.ndarray:
    """VAE output f32 [1, 3, H, W] in [-1, 1] -> uint8 [H, W, 3]: floor(clamp(x*0.5+0.5, 0, 1) * 255 + 0.5)."""
    v = np.clip(x[0].astype(np.float32) * np.float32(0.5) + np.float32(0.5), 0.0, 1.0) * np.float32(255.0)
    return np.floor(v + np.float32(0.5)).astype(np.uint8).transpose(1, 2, 0).copy()


def render_prompt(tok: ByteBPETokenizer, pc: PackConfig, messages: list[dict]) -> tuple[str, list[int]]:
    text = render_chat(messages, add_generation_prompt=True)
    expanded = expand_image_tokens(text, pc.reasoner.image_token, pc.reasoner.num_image_tokens)
    return text, tok.encode(expanded)


@torch.no_grad()
def generate(
    reasoner: Reasoner,
    input_ids: list[int],
    pixel_values: np.ndarray | None,
    max_new_tokens: int,
    stop_ids: list[int],
    row_stop_ids: list[int] | tuple = (),
) -> Generation:
    """Greedy decoding with a KV cache; max_new_tokens = 0 means prefill only. The condition rows
    (`reasoner.c.condition_hidden`) are the prompt's and those of every generated token fed back; a stop token in
    `row_stop_ids` (MindOmni: `</answer>`, after which it generates on to `<|im_end|>`) is fed once more for its own
    row. Other stop tokens, and the token that reaches max_new_tokens, have no row (HF `generate`)."""
    c = reasoner.c
    lm = reasoner.lm
    ids = torch.tensor([input_ids], dtype=torch.int64)
    pv = None if pixel_values is None else torch.from_numpy(pixel_values)
    emb = reasoner.embed(ids, pv)
    L = len(input_ids)
    past = [torch.zeros(1, c.num_key_value_heads, 0, c.head_dim) for _ in range(2 * c.num_hidden_layers)]
    logits, past, h = lm(emb, torch.ones(1, L, dtype=torch.int64), torch.arange(L).unsqueeze(0), past)
    rows = [h[0]]
    g = Generation(input_ids=list(input_ids))
    T = L
    while len(g.generated) < max_new_tokens:
        last = logits[0, -1]
        top = torch.topk(last, 2).values
        g.margins.append(float(top[0] - top[1]))
        nxt = int(torch.argmax(last))
        g.generated.append(nxt)
        if nxt in stop_ids or len(g.generated) == max_new_tokens:
            if nxt in stop_ids and nxt in row_stop_ids:
                e = lm.embed_tokens(torch.tensor([[nxt]]))
                _, _, h = lm(e, torch.ones(1, T + 1, dtype=torch.int64), torch.tensor([[T]]), past)
                rows.append(h[0])
            break
        e = lm.embed_tokens(torch.tensor([[nxt]]))
        logits, past, h = lm(e, torch.ones(1, T + 1, dtype=torch.int64), torch.tensor([[T]]), past)
        rows.append(h[0])
        T += 1
    g.hidden = torch.cat(rows, 0).numpy().astype(np.float32)
    return g


def checksum(x: np.ndarray) -> dict:
    x = x.astype(np.float64)
    return {"sum": float(x.sum()), "abs_sum": float(np.abs(x).sum()), "count": int(x.size)}


def sigmas(t0: float, steps: int) -> np.ndarray:
    """sigma_i = t0 + (1 - t0) * i / N, computed in f64 and rounded to f32."""
    return np.array([t0 + (1.0 - t0) * i / steps for i in range(steps + 1)], dtype=np.float64).astype(np.float32)


@torch.no_grad()
def velocity(painter: Painter, cond: np.ndarray, z: np.ndarray, t: float) -> np.ndarray:
    v = painter(torch.from_numpy(cond)[None], torch.from_numpy(z), torch.tensor([t], dtype=torch.float32))
    return v.numpy().astype(np.float32)


def sample(painter: Painter, cond_pos, cond_neg, z0: np.ndarray, t0: float, steps: int, guidance: float):
    """Euler over sigma = linspace(t0, 1, N + 1); v = v_u + g (v_c - v_u). Returns every latent z_0 .. z_N."""
    s = sigmas(t0, steps)
    z = z0.astype(np.float32)
    zs = [z]
    g = np.float32(guidance)
    for i in range(steps):
        vc = velocity(painter, cond_pos, z, float(s[i]))
        vu = velocity(painter, cond_neg, z, float(s[i]))
        v = vu + g * (vc - vu)
        z = (z + (s[i + 1] - s[i]) * v).astype(np.float32)
        zs.append(z)
    return zs


@torch.no_grad()
def vae_decode(vae: Vae, pc: PackConfig, z: np.ndarray) -> np.ndarray:
    x = z / np.float32(pc.vae.scaling_factor) + np.float32(pc.vae.shift_factor)
    return vae.decoder(torch.from_numpy(x.astype(np.float32))).numpy().astype(np.float32)


@torch.no_grad()
def vae_encode(vae: Vae, pc: PackConfig, x: np.ndarray) -> np.ndarray:
    """x1 = (mean - shift) * scale."""
    m = vae.encoder(torch.from_numpy(x)).numpy().astype(np.float32)
    return ((m - np.float32(pc.vae.shift_factor)) * np.float32(pc.vae.scaling_factor)).astype(np.float32)


def imagine_messages(prompt: str, cot: bool, with_image: bool = False) -> list[dict]:
    system = SYSTEM_PROMPT_COT if cot else SYSTEM_PROMPT_PLAIN
    user = ("<image>\n" if with_image else "") + INSTRUCTION_PREFIX + prompt
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def negative_messages(pc: PackConfig) -> list[dict]:
    """MindOmni (app.py): the plain system prompt and the instruction prefix + the negative text as the user turn;
    the bare negative text when `negative_instruction_prefix` is off (the shipped shapes pack)."""
    user = (INSTRUCTION_PREFIX if pc.negative_instruction_prefix else "") + pc.negative_prompt
    return [{"role": "system", "content": SYSTEM_PROMPT_PLAIN}, {"role": "user", "content": user}]


def row_stop_ids(pc: PackConfig, answer_end: int) -> list[int]:
    """The stop tokens whose own condition row is computed: `</answer>` when `condition_answer_end_row`."""
    return [answer_end] if pc.reasoner.condition_answer_end_row else []
