"""ONNX exports (opset 17, TorchScript tracing) in the onnx-community layout.

Every graph is traced with small dummy shapes and exported with dynamic axes; rerunning gives identical bytes
(same torch / onnx versions).
"""

from __future__ import annotations

import io
import os

import onnx
import torch
from torch import nn

from .model import Painter, Reasoner, Vae

OPSET = 17


class _Vision(nn.Module):
    def __init__(self, r: Reasoner):
        super().__init__()
        self.vision = r.vision

    def forward(self, pixel_values):
        return self.vision(pixel_values)


class _Embed(nn.Module):
    def __init__(self, r: Reasoner):
        super().__init__()
        self.embed_tokens = r.lm.embed_tokens

    def forward(self, input_ids):
        return self.embed_tokens(input_ids)


class _Decoder(nn.Module):
    def __init__(self, r: Reasoner):
        super().__init__()
        self.lm = r.lm

    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        logits, presents, h, pre = self.lm.forward_states(inputs_embeds, attention_mask, position_ids, list(past))
        if self.lm.c.condition_hidden == "pre_norm":
            return (logits, *presents, h, pre)
        return (logits, *presents, h)


class _VaeEnc(nn.Module):
    def __init__(self, v: Vae):
        super().__init__()
        self.encoder = v.encoder

    def forward(self, sample):
        return self.encoder(sample)


class _VaeDec(nn.Module):
    def __init__(self, v: Vae):
        super().__init__()
        self.decoder = v.decoder

    def forward(self, latent_sample):
        return self.decoder(latent_sample)


def _export(module, args, path, input_names, output_names, dynamic_axes):
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            module,
            args,
            buf,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            export_params=True,
        )
    model = onnx.load_from_string(buf.getvalue())
    model.producer_name = "rg-vlm-web tools"
    model.producer_version = "1"
    model.doc_string = ""
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))


def export_all(reasoner: Reasoner, painter: Painter, vae: Vae, out_dir: str) -> list[str]:
    # A trace would freeze LongRoPE's short / long choice at the example's length; painter.onnx has dynamic lengths.
    if painter.connector.c.rope_scaling or painter.painter.c.rope_scaling:
        raise ValueError("painter.onnx cannot take LongRoPE (rope_scaling): its factor set depends on the length")
    rc = reasoner.c
    vc = rc.vision
    d = os.path.join(out_dir, "onnx")
    files = []

    p = os.path.join(d, "vision_encoder.onnx")
    _export(
        _Vision(reasoner),
        (torch.zeros(1, vc.num_channels, vc.image_size, vc.image_size),),
        p,
        ["pixel_values"],
        ["image_features"],
        {"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}},
    )
    files.append(p)

    p = os.path.join(d, "embed_tokens.onnx")
    _export(
        _Embed(reasoner),
        (torch.zeros(1, 3, dtype=torch.int64),),
        p,
        ["input_ids"],
        ["inputs_embeds"],
        {"input_ids": {0: "batch_size", 1: "sequence_length"}, "inputs_embeds": {0: "batch_size", 1: "sequence_length"}},
    )
    files.append(p)

    B, L, P = 1, 3, 2
    past = []
    past_names, present_names = [], []
    dyn = {
        "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
        "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
    }
    # MindOmni's condition (the last layer's output before the final norm) as its own output; packs with the
    # post-norm condition (the shipped shapes pack) have only last_hidden_state.
    pre_norm_output = ["pre_norm_hidden_state"] if rc.condition_hidden == "pre_norm" else []
    for name in pre_norm_output:
        dyn[name] = {0: "batch_size", 1: "sequence_length"}
    for i in range(rc.num_hidden_layers):
        for kv in ("key", "value"):
            past.append(torch.zeros(B, rc.num_key_value_heads, P, rc.head_dim))
            past_names.append(f"past_key_values.{i}.{kv}")
            present_names.append(f"present.{i}.{kv}")
            dyn[past_names[-1]] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[present_names[-1]] = {0: "batch_size", 2: "total_sequence_length"}
    p = os.path.join(d, "decoder_model_merged.onnx")
    _export(
        _Decoder(reasoner),
        (
            torch.zeros(B, L, rc.hidden_size),
            torch.ones(B, P + L, dtype=torch.int64),
            torch.arange(P, P + L, dtype=torch.int64).unsqueeze(0),
            *past,
        ),
        p,
        ["inputs_embeds", "attention_mask", "position_ids", *past_names],
        ["logits", *present_names, "last_hidden_state", *pre_norm_output],
        dyn,
    )
    files.append(p)

    vae_c = vae.encoder.c
    p = os.path.join(d, "vae_encoder.onnx")
    _export(
        _VaeEnc(vae),
        (torch.zeros(1, vae_c.in_channels, 32, 32),),
        p,
        ["sample"],
        ["latent_sample"],
        {"sample": {0: "batch_size", 2: "height", 3: "width"}, "latent_sample": {0: "batch_size", 2: "latent_height", 3: "latent_width"}},
    )
    files.append(p)

    p = os.path.join(d, "vae_decoder.onnx")
    _export(
        _VaeDec(vae),
        (torch.zeros(1, vae_c.latent_channels, 8, 8),),
        p,
        ["latent_sample"],
        ["sample"],
        {"latent_sample": {0: "batch_size", 2: "latent_height", 3: "latent_width"}, "sample": {0: "batch_size", 2: "height", 3: "width"}},
    )
    files.append(p)

    pc = painter.painter.c
    p = os.path.join(d, "painter.onnx")
    _export(
        painter,
        (torch.zeros(1, 5, painter.connector.c.input_size), torch.zeros(1, pc.latent_channels, 8, 12), torch.full((1,), 0.5)),
        p,
        ["condition", "latents", "timestep"],
        ["velocity"],
        {
            "condition": {0: "batch_size", 1: "condition_length"},
            "latents": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
            "timestep": {0: "batch_size"},
            "velocity": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
        },
    )
    files.append(p)
    return files
