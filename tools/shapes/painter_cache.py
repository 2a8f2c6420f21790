"""The painter's condition-cached forward, for training and sampling: the condition tokens pass the layers once
(condition_pass, a per-layer KV cache), then the time and latent tokens attend to that cache (image_pass). Same
maths as Painter.forward (docs/formats.md); check_cached_forward measures the difference.
"""

from __future__ import annotations

import torch

from tools.rgvlm.model import Painter, apply_rope, attention, causal_bias, patchify, rope_cos_sin, sincos_2d, unpatchify

MASK = -1e9


def pad_conditions(conds: list[torch.Tensor]):
    """list of [Lc_i, H] -> [B, Lmax, H] right-padded, lengths [B]."""
    L = max(c.shape[0] for c in conds)
    out = torch.zeros(len(conds), L, conds[0].shape[1])
    for i, c in enumerate(conds):
        out[i, : c.shape[0]] = c
    return out, torch.tensor([c.shape[0] for c in conds])


def _split_qkv(att, x, B, L):
    qkv = att.qkv_proj(x)
    q = qkv[..., : att.h * att.d].view(B, L, att.h, att.d).transpose(1, 2)
    k = qkv[..., att.h * att.d : (att.h + att.kv) * att.d].view(B, L, att.kv, att.d).transpose(1, 2)
    v = qkv[..., (att.h + att.kv) * att.d :].view(B, L, att.kv, att.d).transpose(1, 2)
    return q, k, v


def condition_pass(painter: Painter, cond, lens):
    """Connector + the painter layers over the (causal) condition tokens. cond [Bc, Lmax, Hr] right-padded.
    Returns per-layer (k, v) [Bc, KV, Lmax, d] (after RoPE): the condition KV cache."""
    dit = painter.painter
    c = painter.connector(cond)
    Bc, L, _ = c.shape
    cos, sin = rope_cos_sin(torch.arange(L).unsqueeze(0), dit.c.head_dim, dit.c.rope_theta)
    bias = causal_bias(L)
    kvs = []
    for li, layer in enumerate(dit.layers):
        att = layer.self_attn
        q, k, v = _split_qkv(att, layer.input_layernorm(c), Bc, L)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        kvs.append((k, v))
        if li == len(dit.layers) - 1:
            break  # the last layer's condition outputs are never used by image tokens
        o = attention(q, k, v, bias, att.h // att.kv, att.d).transpose(1, 2).reshape(Bc, L, att.h * att.d)
        c = c + att.o_proj(o)
        c = c + layer.mlp(layer.post_attention_layernorm(c))
    return kvs


def image_pass(painter: Painter, kvs, lens, latents, t, rep: int = 1):
    """Time + latent tokens against the condition KV cache. latents [Bc*rep, C, H, W] (sample b uses condition
    b // rep), t [Bc*rep] -> velocity [Bc*rep, C, H, W]. Same maths as Painter.forward (docs/formats.md)."""
    dit = painter.painter
    c = dit.c
    B, C, H, Wd = latents.shape
    p = c.patch_size
    x = dit.x_embedder(patchify(latents, p)) + sincos_2d(H // p, Wd // p, c.hidden_size, c)
    N = x.shape[1]
    ttok, temb = dit.time_embeddings(t)
    s = torch.cat([ttok.unsqueeze(1), x], dim=1)  # [B, 1+N, hid]
    lens_b = lens.repeat_interleave(rep)
    Lmax = kvs[0][0].shape[2]
    pos = lens_b.unsqueeze(1) + torch.arange(1 + N).unsqueeze(0)
    cos, sin = rope_cos_sin(pos, c.head_dim, c.rope_theta)
    # keys: [cond (Lmax)] [time] [latents (N)]
    cond_ok = torch.arange(Lmax).unsqueeze(0) < lens_b.unsqueeze(1)  # [B, Lmax]
    rows = torch.arange(1 + N).unsqueeze(1)
    cols = torch.arange(1 + N).unsqueeze(0)
    own_ok = (rows >= 1) | (cols == 0)  # the time token sees only itself after the condition
    allowed = torch.cat([cond_ok.unsqueeze(1).expand(B, 1 + N, Lmax), own_ok.unsqueeze(0).expand(B, 1 + N, 1 + N)], dim=2)
    bias = torch.where(allowed, 0.0, MASK).unsqueeze(1)
    for (kc, vc), layer in zip(kvs, dit.layers):
        att = layer.self_attn
        q, k, v = _split_qkv(att, layer.input_layernorm(s), B, 1 + N)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if rep > 1:
            kc = kc.repeat_interleave(rep, dim=0)
            vc = vc.repeat_interleave(rep, dim=0)
        k = torch.cat([kc, k], dim=2)
        v = torch.cat([vc, v], dim=2)
        o = attention(q, k, v, bias, att.h // att.kv, att.d).transpose(1, 2).reshape(B, 1 + N, att.h * att.d)
        s = s + att.o_proj(o)
        s = s + layer.mlp(layer.post_attention_layernorm(s))
    s = dit.norm(s)
    out = dit.final_layer(s[:, 1:], temb)
    return unpatchify(out, C, H, Wd, p)


def check_cached_forward(painter: Painter) -> float:
    """Max |difference| between the cached forward and Painter.forward (B = 1 runs, different lengths)."""
    torch.manual_seed(1)
    conds = [torch.randn(9, painter.connector.c.input_size), torch.randn(5, painter.connector.c.input_size)]
    lat = torch.randn(2, painter.painter.c.latent_channels, 8, 8)
    t = torch.tensor([0.3, 0.8])
    with torch.no_grad():
        cp, lens = pad_conditions(conds)
        v = image_pass(painter, condition_pass(painter, cp, lens), lens, lat, t)
        ref = torch.cat([painter(conds[i][None], lat[i : i + 1], t[i : i + 1]) for i in range(2)])
    return float((v - ref).abs().max())
