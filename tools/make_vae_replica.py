#!/usr/bin/env python3
"""Writes a tiny SDXL-type VAE in diffusers' AutoencoderKL folder layout, and reference outputs for it:

    /usr/bin/python3 tools/make_vae_replica.py --fixture   # tests/fixtures/mindomni-replica/vae/ (committed)
    /usr/bin/python3 tools/make_vae_replica.py --out DIR   # DIR/vae/ and DIR/vae_reference.json

- vae/config.json: AutoencoderKL's fields (block_out_channels [4, 8], layers_per_block 1, norm_num_groups 2,
  latent_channels 4, scaling_factor 0.13025, shift_factor null, as SDXL's otherwise).
- vae/diffusion_pytorch_model.safetensors: diffusers' state-dict names (encoder.*, decoder.*, quant_conv,
  post_quant_conv), F16 (the real SDXL VAE ships F32 and F16 files); the attention in the current names
  (to_q, to_k, to_v, to_out.0, as [C, C] Linear weights).
- vae_reference.json: the decoder's output for a seeded latent and the encoder's mean for a seeded image, computed
  in f32 by the mirror below on the F16-rounded weights.

diffusers is not installed here. `Encoder` / `Decoder` / `AutoencoderKL` below are a small plain-PyTorch MIRROR of
diffusers' AutoencoderKL written from its documented structure (ResnetBlock2D with GroupNorm eps 1e-6 and SiLU, a
1x1 conv shortcut when channels change; Downsample2D = pad (0, 1, 0, 1) then a 3x3 stride-2 conv; Upsample2D =
nearest x2 then a 3x3 conv; a mid block of resnet, single-head attention over H*W with a residual, resnet). It is
not diffusers: diffusers has not produced a reference for this replica.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct

import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BLOCKS, LAYERS, GROUPS, LATENT, SAMPLE = [4, 8], 1, 2, 4, 16
EPS = 1e-6


def group_norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(GROUPS, c, eps=EPS, affine=True)


class Resnet(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1, self.conv1 = group_norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = group_norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.group_norm = group_norm(c)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        n, c, h, w = x.shape
        t = self.group_norm(x).reshape(n, c, h * w).transpose(1, 2)  # [n, hw, c]: one head of size c
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        o = self.to_out[0](a @ v)
        return x + o.transpose(1, 2).reshape(n, c, h, w)


class Mid(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(c, c), Resnet(c, c)])
        self.attentions = nn.ModuleList([Attention(c)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Down(nn.Module):
    def __init__(self, cin: int, cout: int, last: bool):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(cin if j == 0 else cout, cout) for j in range(LAYERS)])
        self.downsamplers = None if last else nn.ModuleList([nn.Module()])
        if not last:
            self.downsamplers[0].conv = nn.Conv2d(cout, cout, 3, stride=2, padding=0)

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0].conv(F.pad(x, (0, 1, 0, 1)))
        return x


class Up(nn.Module):
    def __init__(self, cin: int, cout: int, last: bool):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(cin if j == 0 else cout, cout) for j in range(LAYERS + 1)])
        self.upsamplers = None if last else nn.ModuleList([nn.Module()])
        if not last:
            self.upsamplers[0].conv = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0].conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return x


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(3, BLOCKS[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            [Down(BLOCKS[max(i - 1, 0)], c, i == len(BLOCKS) - 1) for i, c in enumerate(BLOCKS)])
        self.mid_block = Mid(BLOCKS[-1])
        self.conv_norm_out = group_norm(BLOCKS[-1])
        self.conv_out = nn.Conv2d(BLOCKS[-1], 2 * LATENT, 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(x))))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        rev = list(reversed(BLOCKS))
        self.conv_in = nn.Conv2d(LATENT, rev[0], 3, padding=1)
        self.mid_block = Mid(rev[0])
        self.up_blocks = nn.ModuleList([Up(rev[max(i - 1, 0)], c, i == len(rev) - 1) for i, c in enumerate(rev)])
        self.conv_norm_out = group_norm(rev[-1])
        self.conv_out = nn.Conv2d(rev[-1], 3, 3, padding=1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), Decoder()
        self.quant_conv = nn.Conv2d(2 * LATENT, 2 * LATENT, 1)
        self.post_quant_conv = nn.Conv2d(LATENT, LATENT, 1)

    def encode_mean(self, x):
        return self.quant_conv(self.encoder(x))[:, :LATENT]

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


def config() -> dict:
    return {
        "_class_name": "AutoencoderKL", "_diffusers_version": "0.30.0", "act_fn": "silu",
        "block_out_channels": BLOCKS, "down_block_types": ["DownEncoderBlock2D"] * len(BLOCKS),
        "force_upcast": True, "in_channels": 3, "latent_channels": LATENT, "layers_per_block": LAYERS,
        "norm_num_groups": GROUPS, "out_channels": 3, "sample_size": SAMPLE, "scaling_factor": 0.13025,
        "shift_factor": None, "up_block_types": ["UpDecoderBlock2D"] * len(BLOCKS),
    }


def seeded_weights(model: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Seeded values rounded to F16: norm scales near 1, conv / linear weights ~ 1/sqrt(fan-in), small biases."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, p in model.state_dict().items():
        if "norm" in name and name.endswith(".weight"):
            v = 1 + torch.randn(p.shape, generator=g) * 0.1
        elif name.endswith(".weight"):
            fan = p[0].numel()
            v = torch.randn(p.shape, generator=g) / math.sqrt(fan)
        else:
            v = torch.randn(p.shape, generator=g) * 0.05
        out[name] = v.to(torch.float16)
    return out


def write_f16(path: str, tensors: dict[str, torch.Tensor]) -> None:
    """The safetensors layout as the safetensors library writes it: sorted names, header padded with spaces to 8,
    data back to back with no alignment (decoder.conv_out.bias is F16 [3], 6 bytes, so later tensors start off a
    multiple of 4, as in the real F16 SDXL VAE; tools/rgvlm/safetensors_io.py refuses that layout, so not used)."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for n in sorted(tensors):
        b = tensors[n].contiguous().numpy().astype("<f2").tobytes()
        header[n] = {"dtype": "F16", "shape": list(tensors[n].shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))


def dump(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out")
    ap.add_argument("--fixture", action="store_true")
    ap.add_argument("--seed", type=int, default=90)
    a = ap.parse_args()
    if a.fixture:
        a.out = os.path.join(ROOT, "tests/fixtures/mindomni-replica")
    if not a.out:
        ap.error("--out DIR or --fixture")
    torch.set_num_threads(1)
    model = AutoencoderKL().eval()
    w = seeded_weights(model, a.seed)
    model.load_state_dict({k: v.float() for k, v in w.items()})
    os.makedirs(os.path.join(a.out, "vae"), exist_ok=True)
    write_f16(os.path.join(a.out, "vae/diffusion_pytorch_model.safetensors"), w)
    dump(os.path.join(a.out, "vae/config.json"), config())
    g = torch.Generator().manual_seed(a.seed + 1)
    h = SAMPLE // 2 ** (len(BLOCKS) - 1)
    latent = torch.randn(1, LATENT, h, h, generator=g)
    image = torch.rand(1, 3, SAMPLE, SAMPLE, generator=g) * 2 - 1
    with torch.no_grad():
        decoded, mean = model.decode(latent), model.encode_mean(image)
    r8 = lambda t: [round(x, 8) for x in t.flatten().tolist()]  # noqa: E731
    dump(os.path.join(a.out, "vae_reference.json"), {
        "latent": r8(latent), "latent_shape": list(latent.shape), "decoded": r8(decoded),
        "decoded_shape": list(decoded.shape), "image": r8(image), "image_shape": list(image.shape),
        "mean": r8(mean), "mean_shape": list(mean.shape),
    })
    print(f"wrote {a.out}/vae and vae_reference.json")


if __name__ == "__main__":
    main()
