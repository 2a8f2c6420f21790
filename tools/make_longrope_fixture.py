#!/usr/bin/env python3
"""Writes tests/fixtures/longrope/reference.json: the PyTorch mirror's painter velocities with Phi-3's LongRoPE.

    /usr/bin/python3 tools/make_longrope_fixture.py

The painter is the tiny-random pack's (public/models/tiny-random: connector + DiT, f32) with seeded random LongRoPE
factors added to both configs and original_max_position_embeddings 8 (max 64, so cos/sin scale sqrt(2)), so tiny runs
land on either side of it. Cases (condition rows Lc, latent 4 x 4 so N = 4 patch tokens, sequence Lc + 1 + N):
- "short": Lc 3, 8 positions: the connector and the DiT both use short_factor (8 is not past 8);
- "long": Lc 10: the connector (10 positions) and the DiT (15) both use long_factor;
- "cfg": two branches run separately (MindOmni's separate CFG), Lc 4 (DiT 9 positions: long) and Lc 3 (8: short),
  combined v_u + g (v_c - v_u) in f32.
Nothing is checked here; tests/gpu/models/painter_longrope.test.ts runs our engine on the same inputs.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.rgvlm import pipeline as P  # noqa: E402
from tools.rgvlm.config import ConnectorConfig, PainterConfig  # noqa: E402
from tools.rgvlm.model import Painter  # noqa: E402
from tools.rgvlm.safetensors_io import read_safetensors  # noqa: E402

PACK = os.path.join(ROOT, "public", "models", "tiny-random")
OUT = os.path.join(ROOT, "tests", "fixtures", "longrope", "reference.json")
ORIGINAL, MOST = 8, 64


def rope_fields(half: int, rng: np.random.Generator) -> dict:
    """Short factors in [1, 2), long ones in [1, 40): the spans of Phi-3-128k's (rounded to f32 so JSON round-trips)."""
    f = lambda lo, hi: [float(np.float32(v)) for v in rng.uniform(lo, hi, half)]  # noqa: E731
    return {
        "rope_scaling": {"type": "longrope", "short_factor": f(1, 2), "long_factor": f(1, 40)},
        "original_max_position_embeddings": ORIGINAL,
        "max_position_embeddings": MOST,
    }


def main() -> None:
    m = json.load(open(os.path.join(PACK, "manifest.json")))
    rng = np.random.default_rng(20)
    rope = {"connector": rope_fields(m["connector"]["head_dim"] // 2, rng),
            "painter": rope_fields(m["painter"]["head_dim"] // 2, rng)}
    cc = ConnectorConfig(**{**m["connector"], **rope["connector"]})
    pc = PainterConfig(**{**m["painter"], **rope["painter"]})
    painter = Painter(cc, pc).eval()
    st = read_safetensors(os.path.join(PACK, m["paths"]["painter_weights"]["f32"]))
    painter.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in st.items()})
    C, H = pc.latent_channels, cc.input_size
    lat = rng.standard_normal((1, C, 4, 4)).astype(np.float32)
    t = 0.35

    def cond(rows: int) -> np.ndarray:
        return rng.standard_normal((rows, H)).astype(np.float32)

    def v(c: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return P.velocity(painter, c, lat, t)

    cases = []
    for name, rows in (("short", 3), ("long", 10)):
        c = cond(rows)
        cases.append({"name": name, "conditions": [c.ravel().tolist()], "velocity": v(c).ravel().tolist()})
    cp, cn = cond(4), cond(3)
    g = np.float32(2.5)
    vc, vu = v(cp), v(cn)
    cases.append({"name": "cfg", "conditions": [cp.ravel().tolist(), cn.ravel().tolist()], "guidance": float(g),
                  "velocity": (vu + g * (vc - vu)).astype(np.float32).ravel().tolist()})
    out = {"about": __doc__.strip().splitlines()[0], "rope": rope, "latents": lat.ravel().tolist(),
           "latents_shape": list(lat.shape[1:]), "timestep": t, "cases": cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
