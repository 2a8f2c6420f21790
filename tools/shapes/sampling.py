"""Sampling with the shapes model: latents of images (VAE encoder), the CFG Euler sampler over a batch of
conditions (and the VAE decoder), the negative condition, and groups of sampled reasoner continuations (RGPO).
"""

from __future__ import annotations

import numpy as np
import torch

from tools.rgvlm import pipeline as P
from tools.rgvlm.config import PackConfig
from tools.rgvlm.model import Painter, Reasoner, Vae
from tools.rgvlm.noise import latent_noise
from tools.rgvlm.tokenizer import render_chat
from tools.shapes.data import to_vae_input
from tools.shapes.models import stop_ids, tokenizer
from tools.shapes.painter_cache import condition_pass, image_pass, pad_conditions


@torch.no_grad()
def encode_latents(vae: Vae, pc: PackConfig, rgbs: list[np.ndarray]) -> torch.Tensor:
    m = vae.encoder(to_vae_input(rgbs))
    return (m - pc.vae.shift_factor) * pc.vae.scaling_factor


@torch.no_grad()
def paint_latents(painter: Painter, pc: PackConfig, conds: list[torch.Tensor], neg: torch.Tensor, seeds: list[int],
                  steps: int, guidance: float, edit: tuple[torch.Tensor, float] | None = None) -> torch.Tensor:
    """CFG Euler sampler of docs/formats.md over a batch (condition KV cached once per branch).
    Noise = the seeded Philox noise of each seed. Returns the VAE decoder's inputs [n, C, h, w]
    (latents / scaling_factor + shift_factor). edit = (the input images' latents [n, C, h, w] (encode_latents),
    strength): Edit's start, z = t0 x1 + (1 - t0) noise with t0 = 1 - strength, then sigma from t0 to 1."""
    n = len(conds)
    h = pc.default_height // pc.vae.downscale
    w = pc.default_width // pc.vae.downscale
    z = torch.from_numpy(np.concatenate([latent_noise(s, (1, pc.painter.latent_channels, h, w)) for s in seeds]))
    t0 = 0.0
    if edit is not None:
        t0 = float(np.float32(1.0 - np.float32(edit[1])))
        z = np.float32(t0) * edit[0].float() + np.float32(1.0 - t0) * z
    cp, lens = pad_conditions(list(conds) + [neg])
    kvs = condition_pass(painter, cp, lens)
    # batch: [positive 0..n-1][negative repeated n times]
    idx = torch.cat([torch.arange(n), torch.full((n,), n)])
    kvb = [(k[idx], v[idx]) for k, v in kvs]
    lb = lens[idx]
    sig = P.sigmas(t0, steps)
    g = float(guidance)
    for i in range(steps):
        t = torch.full((2 * n,), float(sig[i]))
        v = image_pass(painter, kvb, lb, torch.cat([z, z]), t)
        vc, vu = v[:n], v[n:]
        z = z + float(sig[i + 1] - sig[i]) * (vu + g * (vc - vu))
    return z / pc.vae.scaling_factor + pc.vae.shift_factor


@torch.no_grad()
def paint(painter: Painter, vae: Vae, pc: PackConfig, conds: list[torch.Tensor], neg: torch.Tensor, seeds: list[int],
          steps: int, guidance: float, edit: tuple[torch.Tensor, float] | None = None) -> list[np.ndarray]:
    """paint_latents, then the VAE decoder. Returns uint8 [64, 64, 3] images."""
    x = vae.decoder(paint_latents(painter, pc, conds, neg, seeds, steps, guidance, edit)).numpy()
    return [P.to_pixels(x[i : i + 1]) for i in range(len(conds))]


@torch.no_grad()
def sample_group(reasoner: Reasoner, prompt_ids: list[int], g: int, max_new: int, temperature: float,
                 gen: torch.Generator) -> list[list[int]]:
    """g sampled continuations of one prompt (batched, KV cache), each ending with its stop token if any."""
    c = reasoner.c
    lm = reasoner.lm
    stops = set(stop_ids(True))
    ids = torch.tensor([prompt_ids] * g)
    L = len(prompt_ids)
    past = [torch.zeros(g, c.num_key_value_heads, 0, c.head_dim) for _ in range(2 * c.num_hidden_layers)]
    logits, past, _ = lm(lm.embed_tokens(ids), torch.ones(g, L, dtype=torch.int64), torch.arange(L).unsqueeze(0).expand(g, L), past)
    outs: list[list[int]] = [[] for _ in range(g)]
    done = [False] * g
    T = L
    for _ in range(max_new):
        probs = torch.softmax(logits[:, -1] / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=gen)[:, 0]
        for b in range(g):
            if not done[b]:
                outs[b].append(int(nxt[b]))
                done[b] = int(nxt[b]) in stops
        if all(done):
            break
        logits, past, _ = lm(lm.embed_tokens(nxt.unsqueeze(1)), torch.ones(g, T + 1, dtype=torch.int64), torch.full((g, 1), T), past)
        T += 1
    return outs


@torch.no_grad()
def negative_condition(reasoner: Reasoner, pc: PackConfig) -> torch.Tensor:
    tok = tokenizer()
    ids = tok.encode(render_chat(P.negative_messages(pc), True))
    return torch.from_numpy(P.generate(reasoner, ids, None, 0, stop_ids(True)).hidden)
