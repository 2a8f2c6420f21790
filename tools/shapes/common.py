"""Shared pieces of the shapes training stages: the pack config, tokenizer, checkpoints, batching, the painter's
condition-cached forward (training and sampling), sampling with the reasoner, and image helpers.

Checkpoints live in CKPT (default /tmp/shapes_ckpt, override with $SHAPES_CKPT); they are never committed.
"""

from __future__ import annotations

import math
import os
import time
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from tools.rgvlm import pipeline as P
from tools.rgvlm.config import (
    INSTRUCTION_PREFIX,
    SPECIAL_TOKENS,
    SYSTEM_PROMPT_COT,
    SYSTEM_PROMPT_PLAIN,
    ConnectorConfig,
    PackConfig,
    PainterConfig,
    ReasonerConfig,
    VaeConfig,
    VisionConfig,
)
from tools.rgvlm.corpus import corpus_text as shared_corpus
from tools.rgvlm.model import Painter, Reasoner, Vae, apply_rope, attention, build, causal_bias, patchify, rope_cos_sin, sincos_2d, unpatchify
from tools.rgvlm.noise import latent_noise
from tools.rgvlm.tokenizer import ByteBPETokenizer, render_chat, train_bpe
from tools.shapes import world as W

CKPT = os.environ.get("SHAPES_CKPT", "/tmp/shapes_ckpt")
MASK = -1e9


# --------------------------------------------------------------------------------------------- config
def shapes_config() -> PackConfig:
    """The smallest model that can do the job (pack well under 25 MB)."""
    vision = VisionConfig(image_size=32, patch_size=8, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=128)
    reasoner = ReasonerConfig(vocab_size=1024, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                              num_key_value_heads=2, head_dim=32, intermediate_size=256, max_position_embeddings=512,
                              vision=vision, num_image_tokens=16)
    connector = ConnectorConfig(input_size=128, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                                num_key_value_heads=4, head_dim=32, intermediate_size=256)
    painter = PainterConfig(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
                            head_dim=32, intermediate_size=256, latent_channels=4, patch_size=4)
    # x2 down (32x32 latents) so a 14-px shape's corners survive; patch 4 keeps the painter at 64 tokens
    vae = VaeConfig(downscale=2, block_channels=[32, 64], latent_channels=4, scaling_factor=1.0, shift_factor=0.0)
    pc = PackConfig(pack_id="shapes", reasoner=reasoner, connector=connector, painter=painter, vae=vae,
                    negative_prompt="blurry, low quality, distorted", default_steps=50, default_guidance=3.0,
                    default_max_new_tokens=64)
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


# --------------------------------------------------------------------------------------------- checkpoints
def ckpt_path(name: str) -> str:
    os.makedirs(CKPT, exist_ok=True)
    return os.path.join(CKPT, name)


def save(obj: dict, name: str) -> None:
    tmp = ckpt_path(name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, ckpt_path(name))


def load(name: str):
    p = ckpt_path(name)
    return torch.load(p) if os.path.exists(p) else None


def fresh_models():
    torch.manual_seed(0)
    return build(shapes_config())


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


class Logger:
    def __init__(self, stage: str):
        self.t0 = time.time()
        self.stage = stage

    def __call__(self, msg: str) -> None:
        print(f"[{self.stage} {time.time() - self.t0:7.0f}s] {msg}", flush=True)


def lr_at(step: int, total: int, base: float, warmup: int = 100) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup)))))


# --------------------------------------------------------------------------------------------- images
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


# --------------------------------------------------------------------------------------------- text batches
def imagine_text(prompt: str, cot: bool) -> str:
    return render_chat(P.imagine_messages(prompt, cot=cot), add_generation_prompt=True)


def understand_text(question: str, with_image: bool) -> str:
    user = ("<image>\n" if with_image else "") + question
    return render_chat([{"role": "system", "content": SYSTEM_PROMPT_PLAIN}, {"role": "user", "content": user}], True)


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


def reasoner_forward(reasoner: Reasoner, ids, am, pv=None):
    """Teacher-forced forward of a right-padded batch -> logits [B, L, V], last hidden [B, L, H]."""
    c = reasoner.c
    emb = reasoner.embed(ids, pv)
    B, L = ids.shape
    past = [torch.zeros(B, c.num_key_value_heads, 0, c.head_dim) for _ in range(2 * c.num_hidden_layers)]
    pos = torch.arange(L).unsqueeze(0).expand(B, L)
    logits, _, h = reasoner.lm(emb, am, pos, past)
    return logits, h


def lm_loss(logits, ids, loss_mask):
    """Next-token cross entropy on the target positions (token t predicted from position t-1)."""
    lg = logits[:, :-1]
    tgt = ids[:, 1:]
    m = loss_mask[:, 1:]
    ce = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), reduction="none").view_as(m)
    return (ce * m).sum() / m.sum().clamp(min=1)


# --------------------------------------------------------------------------------------------- painter
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
    temb = dit.t_embedder(t)
    s = torch.cat([temb.unsqueeze(1), x], dim=1)  # [B, 1+N, hid]
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


def flow_loss(painter: Painter, cond, lens, x1, rep: int, gen: torch.Generator):
    """Rectified flow: x_t = t x1 + (1 - t) x0, v = x1 - x0, t ~ logit-normal(0, 1)."""
    B = x1.shape[0]
    x0 = torch.randn(x1.shape, generator=gen)
    t = torch.sigmoid(torch.randn(B, generator=gen))
    xt = t.view(B, 1, 1, 1) * x1 + (1 - t.view(B, 1, 1, 1)) * x0
    v = image_pass(painter, condition_pass(painter, cond, lens), lens, xt, t, rep)
    return F.mse_loss(v, x1 - x0)


@torch.no_grad()
def encode_latents(vae: Vae, pc: PackConfig, rgbs: list[np.ndarray]) -> torch.Tensor:
    m = vae.encoder(to_vae_input(rgbs))
    return (m - pc.vae.shift_factor) * pc.vae.scaling_factor


@torch.no_grad()
def paint_latents(painter: Painter, pc: PackConfig, conds: list[torch.Tensor], neg: torch.Tensor, seeds: list[int],
                  steps: int, guidance: float) -> torch.Tensor:
    """CFG Euler sampler of docs/formats.md over a batch (condition KV cached once per branch).
    Noise = the seeded Philox noise of each seed. Returns the VAE decoder's inputs [n, C, h, w]
    (latents / scaling_factor + shift_factor)."""
    n = len(conds)
    h = pc.default_height // pc.vae.downscale
    w = pc.default_width // pc.vae.downscale
    z = torch.from_numpy(np.concatenate([latent_noise(s, (1, pc.painter.latent_channels, h, w)) for s in seeds]))
    cp, lens = pad_conditions(list(conds) + [neg])
    kvs = condition_pass(painter, cp, lens)
    # batch: [positive 0..n-1][negative repeated n times]
    idx = torch.cat([torch.arange(n), torch.full((n,), n)])
    kvb = [(k[idx], v[idx]) for k, v in kvs]
    lb = lens[idx]
    sig = P.sigmas(0.0, steps)
    g = float(guidance)
    for i in range(steps):
        t = torch.full((2 * n,), float(sig[i]))
        v = image_pass(painter, kvb, lb, torch.cat([z, z]), t)
        vc, vu = v[:n], v[n:]
        z = z + float(sig[i + 1] - sig[i]) * (vu + g * (vc - vu))
    return z / pc.vae.scaling_factor + pc.vae.shift_factor


@torch.no_grad()
def paint(painter: Painter, vae: Vae, pc: PackConfig, conds: list[torch.Tensor], neg: torch.Tensor, seeds: list[int],
          steps: int, guidance: float) -> list[np.ndarray]:
    """paint_latents, then the VAE decoder. Returns uint8 [64, 64, 3] images."""
    x = vae.decoder(paint_latents(painter, pc, conds, neg, seeds, steps, guidance)).numpy()
    return [P.to_pixels(x[i : i + 1]) for i in range(len(conds))]


# --------------------------------------------------------------------------------------------- reasoner sampling
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


@torch.no_grad()
def teacher_forced_conditions(reasoner: Reasoner, seqs: list[list[int]]) -> list[torch.Tensor]:
    """Hidden states of every position except the last token (a stop token is never fed back)."""
    ids, am, _ = lm_batch([(s, 0) for s in seqs])
    _, h = reasoner_forward(reasoner, ids, am)
    return [h[b, : len(s) - 1].clone() for b, s in enumerate(seqs)]
