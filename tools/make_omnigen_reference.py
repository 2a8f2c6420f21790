#!/usr/bin/env python3
"""Writes tests/fixtures/mindomni-replica/omnigen_reference.json: one velocity of the project's PyTorch mirror of the
DiT alone (tools/rgvlm/model.py `DiT`, f32) on the committed replica's image decoder, for the `cascade` kind, whose
painter takes its condition rows as they are (OmniGen's own text embeddings; no connector):

    /usr/bin/python3 tools/make_omnigen_reference.py

It reads image_decoder/model.safetensors (OmniGen's names, BF16, written by tools/make_mindomni_replica.py) and maps
the names to the mirror's with that tool's `dit_state`, independently of the TypeScript converter. The condition is a seeded [7, hidden]
matrix standing for 7 embedding rows; latents and timestep are seeded too. Nothing else in the fixture is touched.
"""

from __future__ import annotations

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.make_mindomni_replica import CHANNELS, P_HIDDEN, configs, dit_state  # noqa: E402
from tools.rgvlm.model import DiT  # noqa: E402
from tools.rgvlm.safetensors_io import bf16_values, read_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "mindomni-replica")


def main() -> None:
    _, pc = configs()
    dec = read_safetensors(os.path.join(FIXTURE, "image_decoder", "model.safetensors"))
    model = DiT(pc).eval()
    model.load_state_dict(dit_state({k: torch.from_numpy(bf16_values(v).copy()) for k, v in dec.items()}))
    g = torch.Generator().manual_seed(11)
    cond = torch.randn(1, 7, P_HIDDEN, generator=g) * 0.5
    latents = torch.randn(1, CHANNELS, 8, 8, generator=g)
    t = 0.7
    with torch.no_grad():
        v = model(cond, latents, torch.tensor([t]))
    out = {
        "condition": [round(x, 8) for x in cond.flatten().tolist()], "condition_shape": [7, P_HIDDEN],
        "latents": [round(x, 8) for x in latents.flatten().tolist()], "latents_shape": [CHANNELS, 8, 8],
        "timestep": t, "velocity": [float(x) for x in v.flatten().tolist()],
    }
    path = os.path.join(FIXTURE, "omnigen_reference.json")
    with open(path, "w") as fh:
        json.dump(out, fh)
        fh.write("\n")
    print(f"wrote {path}: max |v| {float(v.abs().max()):.3f}")


if __name__ == "__main__":
    main()
