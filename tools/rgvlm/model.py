"""The RG-VLM / MindOmni architecture in miniature (PyTorch). See docs/formats.md for the conventions.

Module and parameter names of `Painter` are the tensor names of the painter safetensors.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import ConnectorConfig, InitConfig, PackConfig, PainterConfig, ReasonerConfig, VaeConfig, VisionConfig

MASK_VALUE = -1e9  # additive mask value for disallowed attention positions


# ----------------------------------------------------------------------------------------------- shared pieces
class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.weight


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float, ext=None, scale: float = 1.0):
    """position_ids [B, L] (int) -> cos, sin [B, L, head_dim] (half-split / GPT-NeoX layout). LongRoPE: `ext` [head_dim
    / 2] f32 divides inv_freq (after theta's power, in f32) and `scale` multiplies cos and sin (see `long_rope`)."""
    power = theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    inv_freq = 1.0 / (power if ext is None else ext * power)
    freqs = position_ids.to(torch.float32).unsqueeze(-1) * inv_freq
    emb = torch.cat([freqs, freqs], dim=-1)
    if scale == 1.0:
        return emb.cos(), emb.sin()
    return emb.cos() * scale, emb.sin() * scale


def long_rope(c, seq_len: int):
    """Phi-3's LongRoPE for a sequence of positions 0 .. seq_len - 1: (ext factors or None, cos/sin scale). long_factor
    once seq_len passes original_max_position_embeddings, else short_factor; scale sqrt(1 + ln(max / original) /
    ln(original)) when max > original (as Phi-3's Phi3LongRoPEScaledRotaryEmbedding, which MindOmni vendors)."""
    r = getattr(c, "rope_scaling", None)
    if not r:
        return None, 1.0
    assert r["type"] in ("longrope", "su"), r["type"]
    original, most = c.original_max_position_embeddings, c.max_position_embeddings
    ext = torch.tensor(r["long_factor"] if seq_len > original else r["short_factor"], dtype=torch.float32)
    ratio = most / original
    return ext, (1.0 if ratio <= 1.0 else math.sqrt(1 + math.log(ratio) / math.log(original)))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, cos, sin):
    """x [B, H, L, D]; cos/sin [B, L, D]."""
    return x * cos.unsqueeze(1) + rotate_half(x) * sin.unsqueeze(1)


def attention(q, k, v, bias, n_rep: int, head_dim: int):
    """q [B, H, L, D]; k, v [B, KV, T, D]; bias [B or 1, 1, L, T] additive. GQA: head h uses kv head h // n_rep."""
    if n_rep > 1:
        B, KV, T, D = k.shape
        k = k.unsqueeze(2).expand(B, KV, n_rep, T, D).reshape(B, KV * n_rep, T, D)
        v = v.unsqueeze(2).expand(B, KV, n_rep, T, D).reshape(B, KV * n_rep, T, D)
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(head_dim))
    probs = torch.softmax(scores + bias, dim=-1)
    return torch.matmul(probs, v)


def mask_bias(allowed):
    """Additive attention bias: 0 where allowed, MASK_VALUE elsewhere, computed in float32 so the ONNX export has no
    float64 constants (onnxruntime-web's browser builds have no float64 Where)."""
    return (~allowed).to(torch.float32) * MASK_VALUE


def causal_bias(L: int, device=None):
    i = torch.arange(L).unsqueeze(1)
    j = torch.arange(L).unsqueeze(0)
    return mask_bias(j <= i)[None, None]


# ----------------------------------------------------------------------------------------------- reasoner
class Qwen2Attention(nn.Module):
    def __init__(self, c: ReasonerConfig):
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * c.head_dim, bias=c.attention_bias)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=c.attention_bias)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=c.attention_bias)
        self.o_proj = nn.Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        B, L, _ = x.shape
        c = self.c
        q = self.q_proj(x).view(B, L, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, L, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, L, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        n_rep = c.num_attention_heads // c.num_key_value_heads
        o = attention(q, k, v, bias, n_rep, c.head_dim).transpose(1, 2).reshape(B, L, c.num_attention_heads * c.head_dim)
        return self.o_proj(o), k, v


class SwiGLU(nn.Module):
    def __init__(self, hidden: int, inter: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Qwen2Layer(nn.Module):
    def __init__(self, c: ReasonerConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Qwen2Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = SwiGLU(c.hidden_size, c.intermediate_size)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        a, k, v = self.self_attn(self.input_layernorm(x), cos, sin, bias, past_k, past_v)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, k, v


class ReasonerLM(nn.Module):
    """Qwen2 decoder. forward(inputs_embeds, attention_mask, position_ids, past) -> logits, presents, hidden."""

    def __init__(self, c: ReasonerConfig):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Qwen2Layer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        if not c.tie_word_embeddings:
            self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)

    def lm_weight(self):
        return self.embed_tokens.weight if self.c.tie_word_embeddings else self.lm_head.weight

    def forward(self, inputs_embeds, attention_mask, position_ids, past):
        """-> logits, presents, the condition rows: the last decoder layer's output before the final norm
        (MindOmni, `condition_hidden` "pre_norm") or after it ("post_norm", the shipped shapes pack)."""
        logits, presents, h, pre = self.forward_states(inputs_embeds, attention_mask, position_ids, past)
        return logits, presents, (pre if self.c.condition_hidden == "pre_norm" else h)

    def forward_states(self, inputs_embeds, attention_mask, position_ids, past):
        """-> logits, presents, last_hidden_state (after the final norm), the last layer's output before it."""
        L = inputs_embeds.shape[1]
        T = attention_mask.shape[1]
        i = torch.arange(L).unsqueeze(1) + (T - L)
        j = torch.arange(T).unsqueeze(0)
        allowed = (j <= i).unsqueeze(0) & (attention_mask.unsqueeze(1) > 0)  # [B, L, T]
        bias = mask_bias(allowed).unsqueeze(1)
        cos, sin = rope_cos_sin(position_ids, self.c.head_dim, self.c.rope_theta)
        x = inputs_embeds
        presents = []
        for n, layer in enumerate(self.layers):
            x, k, v = layer(x, cos, sin, bias, past[2 * n], past[2 * n + 1])
            presents += [k, v]
        h = self.norm(x)
        logits = torch.matmul(h, self.lm_weight().t())
        return logits, presents, h, x


class VisionAttention(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.k_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.v_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.out_proj = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x):
        B, L, D = x.shape
        H = self.c.num_attention_heads
        q = self.q_proj(x).view(B, L, H, D // H).transpose(1, 2)
        k = self.k_proj(x).view(B, L, H, D // H).transpose(1, 2)
        v = self.v_proj(x).view(B, L, H, D // H).transpose(1, 2)
        o = attention(q, k, v, torch.zeros(1, 1, 1, 1), 1, self.c.hidden_size // H).transpose(1, 2).reshape(B, L, D)
        return self.out_proj(o)


class VisionLayer(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.self_attn = VisionAttention(c)
        self.layer_norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.fc1 = nn.Linear(c.hidden_size, c.intermediate_size)
        self.fc2 = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.layer_norm2(x))))


class VisionTower(nn.Module):
    """pixel_values [B, 3, S, S] -> image_features [B, (S/p)^2, reasoner hidden]."""

    def __init__(self, c: VisionConfig, out_dim: int):
        super().__init__()
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, c.patch_size, c.patch_size)
        self.position_embedding = nn.Parameter(torch.zeros(c.num_patches, c.hidden_size))
        self.layers = nn.ModuleList([VisionLayer(c) for _ in range(c.num_hidden_layers)])
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.projector_linear_1 = nn.Linear(c.hidden_size, out_dim)
        self.projector_linear_2 = nn.Linear(out_dim, out_dim)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2) + self.position_embedding
        for layer in self.layers:
            x = layer(x)
        x = self.post_layernorm(x)
        return self.projector_linear_2(F.gelu(self.projector_linear_1(x)))


class Reasoner(nn.Module):
    def __init__(self, c: ReasonerConfig):
        super().__init__()
        self.c = c
        self.vision = VisionTower(c.vision, c.hidden_size)
        self.lm = ReasonerLM(c)

    def embed(self, input_ids, pixel_values=None):
        e = self.lm.embed_tokens(input_ids)
        if pixel_values is not None:
            feats = self.vision(pixel_values).reshape(-1, self.c.hidden_size)
            mask = input_ids == self.c.image_token_id
            assert int(mask.sum()) == feats.shape[0], "image tokens vs features"
            e = e.clone()
            e[mask] = feats
        return e


# ----------------------------------------------------------------------------------------------- connector + painter
class Phi3Attention(nn.Module):
    def __init__(self, hidden, heads, kv_heads, head_dim):
        super().__init__()
        self.h, self.kv, self.d = heads, kv_heads, head_dim
        self.qkv_proj = nn.Linear(hidden, (heads + 2 * kv_heads) * head_dim, bias=False)
        self.o_proj = nn.Linear(heads * head_dim, hidden, bias=False)

    def forward(self, x, cos, sin, bias):
        B, L, _ = x.shape
        qkv = self.qkv_proj(x)
        q = qkv[..., : self.h * self.d].view(B, L, self.h, self.d).transpose(1, 2)
        k = qkv[..., self.h * self.d : (self.h + self.kv) * self.d].view(B, L, self.kv, self.d).transpose(1, 2)
        v = qkv[..., (self.h + self.kv) * self.d :].view(B, L, self.kv, self.d).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        o = attention(q, k, v, bias, self.h // self.kv, self.d).transpose(1, 2).reshape(B, L, self.h * self.d)
        return self.o_proj(o)


class Phi3MLP(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.inter = inter
        self.gate_up_proj = nn.Linear(hidden, 2 * inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x):
        gu = self.gate_up_proj(x)
        return self.down_proj(F.silu(gu[..., : self.inter]) * gu[..., self.inter :])


class Phi3Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Phi3Attention(c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = Phi3MLP(c.hidden_size, c.intermediate_size)

    def forward(self, x, cos, sin, bias):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, bias)
        return x + self.mlp(self.post_attention_layernorm(x))


class Connector(nn.Module):
    def __init__(self, c: ConnectorConfig):
        super().__init__()
        self.c = c
        self.input_proj = nn.Linear(c.input_size, c.hidden_size)
        self.layers = nn.ModuleList([Phi3Layer(c) for _ in range(c.num_hidden_layers)])
        if c.final_norm:  # not in MindOmni (Linear + 2 Phi-3 layers); the shipped shapes pack has one
            self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, cond):
        B, L, _ = cond.shape
        pos = torch.arange(L).unsqueeze(0)
        cos, sin = rope_cos_sin(pos, self.c.head_dim, self.c.rope_theta, *long_rope(self.c, L))
        bias = causal_bias(L)
        x = self.input_proj(cond)
        for layer in self.layers:
            x = layer(x, cos, sin, bias)
        return self.norm(x) if self.c.final_norm else x


def timestep_embedding(t, dim: int, max_period: float):
    """t [B] (already scaled) -> [B, dim], [cos, sin] order (DiT / OmniGen)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.to(torch.float32).unsqueeze(-1) * freqs.unsqueeze(0)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def sincos_1d(pos, dim: int, base: float):
    """pos [N] float -> [N, dim]: [sin(pos*w_k), cos(pos*w_k)], w_k = base^(-k/(dim/2)), k < dim/2."""
    k = torch.arange(dim // 2, dtype=torch.float32) / (dim / 2.0)
    omega = 1.0 / (base**k)
    out = pos.unsqueeze(-1) * omega.unsqueeze(0)
    return torch.cat([torch.sin(out), torch.cos(out)], dim=-1)


def sincos_2d(gh, gw, dim: int, c: PainterConfig):
    """[gh*gw, dim], token r*gw + col: first dim/2 from the column coordinate, last dim/2 from the row."""
    if c.pos_embed_max_size > 0:
        top = (c.pos_embed_max_size - gh) // 2
        left = (c.pos_embed_max_size - gw) // 2
    else:
        top = left = 0
    rows = (torch.arange(gh).to(torch.float32) + top) * c.pos_embed_scale
    cols = (torch.arange(gw).to(torch.float32) + left) * c.pos_embed_scale
    er = sincos_1d(rows, dim // 2, c.pos_embed_base)  # [gh, dim/2]
    ec = sincos_1d(cols, dim // 2, c.pos_embed_base)  # [gw, dim/2]
    er = er.unsqueeze(1).expand(-1, ec.shape[0], -1)
    ec = ec.unsqueeze(0).expand(er.shape[0], -1, -1)
    return torch.cat([ec, er], dim=-1).reshape(-1, dim)


def patchify(latents, p: int):
    """[B, C, H, W] -> [B, (H/p)(W/p), C*p*p]; token r*(W/p)+col; feature c*p*p + py*p + px."""
    B, C, H, W = latents.shape
    gh, gw = H // p, W // p
    x = latents.reshape(B, C, gh, p, gw, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(B, gh * gw, C * p * p)


def unpatchify(x, C: int, H, W, p: int):
    B = x.shape[0]
    gh, gw = H // p, W // p
    x = x.reshape(B, gh, gw, C, p, p).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(B, C, H, W)


class TimestepEmbedder(nn.Module):
    """OmniGen's embedder: `mlp` = Linear, SiLU, Linear over the sinusoidal features of t · timestep_scale (OmniGen:
    scale 1). The shared embedder of the shipped shapes pack names its linears `linear_1` / `linear_2`."""

    def __init__(self, c: PainterConfig):
        super().__init__()
        self.c = c
        if c.time_embedders == "separate":
            self.mlp = nn.Sequential(
                nn.Linear(c.timestep_freq_dim, c.hidden_size), nn.SiLU(), nn.Linear(c.hidden_size, c.hidden_size)
            )
        else:
            self.linear_1 = nn.Linear(c.timestep_freq_dim, c.hidden_size)
            self.linear_2 = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, t):
        f = timestep_embedding(t * self.c.timestep_scale, self.c.timestep_freq_dim, self.c.timestep_max_period)
        if self.c.time_embedders == "separate":
            return self.mlp(f)
        return self.linear_2(F.silu(self.linear_1(f)))


class FinalLayer(nn.Module):
    def __init__(self, c: PainterConfig):
        super().__init__()
        self.c = c
        self.adaLN_modulation = nn.Linear(c.hidden_size, 2 * c.hidden_size)
        self.linear = nn.Linear(c.hidden_size, c.patch_size * c.patch_size * c.latent_channels)

    def forward(self, x, temb):
        shift, scale = self.adaLN_modulation(F.silu(temb)).chunk(2, dim=-1)
        mu = x.mean(-1, keepdim=True)
        xc = x - mu
        x = xc * torch.rsqrt(xc.pow(2).mean(-1, keepdim=True) + self.c.final_norm_eps)  # LayerNorm, no affine
        x = x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)
        return self.linear(x)


class DiT(nn.Module):
    def __init__(self, c: PainterConfig):
        super().__init__()
        self.c = c
        p = c.patch_size
        self.x_embedder = nn.Linear(c.latent_channels * p * p, c.hidden_size)
        assert c.time_embedders in ("separate", "shared"), c.time_embedders
        if c.time_embedders == "separate":
            self.time_token = TimestepEmbedder(c)  # OmniGen: the sequence's time token
        self.t_embedder = TimestepEmbedder(c)  # the final layer's adaLN input (and the time token when shared)
        self.layers = nn.ModuleList([Phi3Layer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.final_layer = FinalLayer(c)

    def time_embeddings(self, t):
        """t [B] in [0, 1] -> (time token [B, hidden], adaLN input [B, hidden])."""
        temb = self.t_embedder(t)
        return (self.time_token(t) if self.c.time_embedders == "separate" else temb), temb

    def forward(self, cond, latents, t):
        """cond [B, Lc, hidden] (after the connector), latents [B, C, H, W], t [B] in [0, 1]."""
        c = self.c
        B, C, H, W = latents.shape
        p = c.patch_size
        Lc = cond.shape[1]
        x = self.x_embedder(patchify(latents, p)) + sincos_2d(H // p, W // p, c.hidden_size, c)
        N = x.shape[1]
        ttok, temb = self.time_embeddings(t)
        seq = torch.cat([cond, ttok.unsqueeze(1), x], dim=1)
        L = seq.shape[1]
        i = torch.arange(L).unsqueeze(1)
        j = torch.arange(L).unsqueeze(0)
        allowed = (j <= i) | (i >= Lc + 1)
        bias = mask_bias(allowed)[None, None]
        cos, sin = rope_cos_sin(torch.arange(L).unsqueeze(0), c.head_dim, c.rope_theta, *long_rope(c, L))
        for layer in self.layers:
            seq = layer(seq, cos, sin, bias)
        seq = self.norm(seq)
        out = self.final_layer(seq[:, L - N :], temb)
        return unpatchify(out, C, H, W, p)


class Painter(nn.Module):
    """Connector + DiT; state_dict names = safetensors tensor names (connector.*, painter.*)."""

    def __init__(self, cc: ConnectorConfig, pc: PainterConfig):
        super().__init__()
        self.connector = Connector(cc)
        self.painter = DiT(pc)

    def forward(self, condition, latents, timestep):
        return self.painter(self.connector(condition), latents, timestep)


# ----------------------------------------------------------------------------------------------- VAE
class VaeEncoder(nn.Module):
    def __init__(self, c: VaeConfig):
        super().__init__()
        c0, c1 = c.block_channels
        self.c = c
        self.conv_in = nn.Conv2d(c.in_channels, c0, 3, 1, 1)
        assert c.downscale in (2, 4), "the VAE downscales by 2 or 4"
        self.down_1 = nn.Conv2d(c0, c1, 3, 2, 1)
        # downscale 2: the second block keeps the resolution (same modules and names as downscale 4)
        self.down_2 = nn.Conv2d(c1, c1, 3, 2 if c.downscale == 4 else 1, 1)
        self.conv_out = nn.Conv2d(c1, 2 * c.latent_channels, 3, 1, 1)

    def forward(self, sample):
        x = F.silu(self.conv_in(sample))
        x = F.silu(self.down_1(x))
        x = F.silu(self.down_2(x))
        return self.conv_out(x)[:, : self.c.latent_channels]  # the mean; the log-variance is unused


class VaeDecoder(nn.Module):
    def __init__(self, c: VaeConfig):
        super().__init__()
        c0, c1 = c.block_channels
        assert c.downscale in (2, 4), "the VAE downscales by 2 or 4"
        self.twice = c.downscale == 4
        self.conv_in = nn.Conv2d(c.latent_channels, c1, 3, 1, 1)
        self.up_1 = nn.Conv2d(c1, c1, 3, 1, 1)
        self.up_2 = nn.Conv2d(c1, c0, 3, 1, 1)
        self.conv_out = nn.Conv2d(c0, c.in_channels, 3, 1, 1)

    def forward(self, latent_sample):
        x = F.silu(self.conv_in(latent_sample))
        if self.twice:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = F.silu(self.up_1(x))  # downscale 2: at the latent resolution
        x = F.silu(self.up_2(F.interpolate(x, scale_factor=2.0, mode="nearest")))
        return self.conv_out(x)


class Vae(nn.Module):
    def __init__(self, c: VaeConfig):
        super().__init__()
        self.encoder = VaeEncoder(c)
        self.decoder = VaeDecoder(c)


# ----------------------------------------------------------------------------------------------- init
def init_random(module: nn.Module, ic: InitConfig, prefix: str) -> None:
    """Deterministic init: one numpy PCG64 stream per tensor, keyed by (seed, crc32(prefix + name))."""
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            full = prefix + name
            rng = np.random.default_rng([ic.seed, zlib.crc32(full.encode())])
            shape = tuple(p.shape)
            z = rng.standard_normal(shape)
            if name.endswith(".bias"):
                w = ic.bias_std * z
            elif name.endswith("embed_tokens.weight"):
                w = ic.embed_std * z
            elif name.endswith("position_embedding"):
                w = 0.5 * z
            elif len(shape) == 1:
                w = 1.0 + ic.norm_jitter * z
            else:
                fan_in = int(np.prod(shape[1:]))
                gain = ic.lm_head_gain if name.endswith("lm_head.weight") else ic.linear_gain
                w = gain / math.sqrt(fan_in) * z
            p.copy_(torch.from_numpy(w.astype(np.float32)))


def build(pc: PackConfig):
    torch.set_num_threads(1)
    reasoner = Reasoner(pc.reasoner).eval()
    painter = Painter(pc.connector, pc.painter).eval()
    vae = Vae(pc.vae).eval()
    init_random(reasoner, pc.init, "reasoner.")
    init_random(painter, pc.init, "")
    init_random(vae, pc.init, "vae.")
    return reasoner, painter, vae
