"""Deterministic safetensors writer/reader and the int8 / int4 quantisation of docs/formats.md."""

from __future__ import annotations

import json
import os
import struct

import numpy as np

_DT = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int8): "I8", np.dtype(np.uint8): "U8"}
_NP = {v: k for k, v in _DT.items()}


def write_safetensors(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None,
                      bf16: frozenset[str] | set[str] = frozenset()) -> None:
    """8-byte LE header length + compact JSON header (keys sorted, padded with spaces to a multiple of 8) +
    tensor data in sorted-name order, contiguous. Every tensor starts at a multiple of 4 bytes from file start.
    Tensors named in `bf16` are uint16 arrays of bfloat16 bits (numpy has no bfloat16), written as BF16."""
    names = sorted(tensors)
    header: dict = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    off = 0
    blobs = []
    for n in names:
        a = np.ascontiguousarray(tensors[n])
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        b = a.tobytes()
        assert len(b) % 4 == 0, f"{n}: {len(b)} bytes is not a multiple of 4"
        dt = "BF16" if n in bf16 else _DT[a.dtype]
        assert dt != "BF16" or a.dtype == np.uint16, f"{n}: BF16 tensors are given as uint16 bits"
        header[n] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    hj = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        dt = np.uint16 if v["dtype"] == "BF16" else _NP[v["dtype"]]  # BF16 read as its bits
        out[k] = np.frombuffer(data[8 + n + s : 8 + n + e], dtype=dt).reshape(v["shape"])
    return out


def quant_int8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per output row, symmetric: s = max|w_row| / 127 (1 if the row is zero), q = clamp(round(w / s), ±127)."""
    w = w.astype(np.float32)
    m = np.abs(w).max(axis=1)
    s = np.where(m > 0, m / np.float32(127.0), np.float32(1.0)).astype(np.float32)
    q = np.clip(np.round(w / s[:, None]), -127, 127).astype(np.int8)
    return q, s


def dequant_int8(q: np.ndarray, s: np.ndarray) -> np.ndarray:
    return (q.astype(np.float32) * s[:, None]).astype(np.float32)


def quant_int4(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Block-32 along `in`, symmetric: s = max|w_block| / 7 (1 if zero), q = clamp(round(w / s), -8, 7);
    nibble q + 8, element 2j in the low nibble of byte j, 2j + 1 in the high nibble."""
    w = w.astype(np.float32)
    out_f, in_f = w.shape
    assert in_f % 32 == 0, f"int4 needs in % 32 == 0, got {in_f}"
    blocks = w.reshape(out_f, in_f // 32, 32)
    m = np.abs(blocks).max(axis=2)
    s = np.where(m > 0, m / np.float32(7.0), np.float32(1.0)).astype(np.float32)
    q = np.clip(np.round(blocks / s[:, :, None]), -8, 7).astype(np.int16).reshape(out_f, in_f)
    nib = (q + 8).astype(np.uint8)
    packed = (nib[:, 0::2] | (nib[:, 1::2] << 4)).astype(np.uint8)
    return packed, s


def dequant_int4(packed: np.ndarray, s: np.ndarray) -> np.ndarray:
    lo = (packed & 0x0F).astype(np.int16) - 8
    hi = (packed >> 4).astype(np.int16) - 8
    out_f = packed.shape[0]
    q = np.empty((out_f, packed.shape[1] * 2), dtype=np.int16)
    q[:, 0::2] = lo
    q[:, 1::2] = hi
    return (q.reshape(out_f, -1, 32).astype(np.float32) * s[:, :, None]).reshape(out_f, -1).astype(np.float32)


def is_quantised(name: str) -> bool:
    """The linears that the int8 / int4 variants quantise: every projection inside a decoder layer of the
    connector and the painter. Everything else (embedders, adaLN, final linear, norms, biases) stays F32."""
    return ".layers." in name and name.endswith(("qkv_proj.weight", "o_proj.weight", "gate_up_proj.weight", "down_proj.weight"))


def quantise_state(state: dict[str, np.ndarray], mode: str) -> dict[str, np.ndarray]:
    out = {}
    for name, w in state.items():
        if mode == "f32" or not is_quantised(name):
            out[name] = w.astype(np.float32)
            continue
        base = name[: -len(".weight")]
        if mode == "int8":
            q, s = quant_int8(w)
            out[base + ".weight_q"] = q
            out[base + ".weight_scale"] = s
        elif mode == "int4":
            q, s = quant_int4(w)
            out[base + ".weight_q4"] = q
            out[base + ".weight_scale"] = s
        else:
            raise ValueError(mode)
    return out


def dequantise_state(st: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name, a in st.items():
        if name.endswith(".weight_q"):
            base = name[: -len(".weight_q")]
            out[base + ".weight"] = dequant_int8(a, st[base + ".weight_scale"])
        elif name.endswith(".weight_q4"):
            base = name[: -len(".weight_q4")]
            out[base + ".weight"] = dequant_int4(a, st[base + ".weight_scale"])
        elif name.endswith(".weight_scale"):
            continue
        else:
            out[name] = a
    return out


def bf16_bits(w: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bits (uint16): the top half of the f32, rounded to nearest, ties to even (torch's
    `.bfloat16()`); a NaN stays a quiet NaN. Bit-identical to bf16Bits in src/kernels/quantize.ts."""
    b = np.ascontiguousarray(w, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF
    nan = ((b & 0x7F800000) == 0x7F800000) & ((b & 0x7FFFFF) != 0)
    return np.where(nan, ((b >> 16) | 0x40) & 0xFFFF, rounded).astype(np.uint16)


def bf16_values(h: np.ndarray) -> np.ndarray:
    """bfloat16 bits → float32 (exact)."""
    return (h.astype(np.uint32) << 16).view(np.float32)


# ----------------------------------------------------------------------------------------------- reasoner weights
REASONER_MODES = ("f32", "f16", "bf16", "int8", "int4")
REASONER_WEIGHT_FILES = {mode: f"reasoner.{mode}.safetensors" for mode in REASONER_MODES}
REASONER_WEIGHTS = REASONER_WEIGHT_FILES["f32"]


def quantise_reasoner_state(state: dict[str, np.ndarray], mode: str) -> tuple[dict[str, np.ndarray], set[str]]:
    """The reasoner's variant `mode`: every matrix (the 2-D tensors: embed_tokens, q/k/v/o, gate/up/down, lm_head)
    stored as f16, bf16, int8 per row or int4 block-32 under the names of docs/formats.md; norms and biases F32.
    Returns the tensors and the names of the BF16 ones."""
    out: dict[str, np.ndarray] = {}
    bf16: set[str] = set()
    for name, w in state.items():
        w = w.astype(np.float32)
        if mode == "f32" or w.ndim != 2:
            out[name] = w
            continue
        base = name[: -len(".weight")]
        if mode == "f16":
            out[name] = w.astype(np.float16)
        elif mode == "bf16":
            out[name] = bf16_bits(w)
            bf16.add(name)
        elif mode == "int8":
            out[base + ".weight_q"], out[base + ".weight_scale"] = quant_int8(w)
        elif mode == "int4":
            out[base + ".weight_q4"], out[base + ".weight_scale"] = quant_int4(w)
        else:
            raise ValueError(mode)
    return out, bf16


def reasoner_state(reasoner) -> dict[str, np.ndarray]:
    """The Qwen2 text decoder's tensors (F32) under the names of `ReasonerLM`'s state dict (tools/rgvlm/model.py):
    `embed_tokens.weight`, `layers.L.{input_layernorm,post_attention_layernorm}.weight`,
    `layers.L.self_attn.{q,k,v}_proj.{weight,bias}`, `layers.L.self_attn.o_proj.weight`,
    `layers.L.mlp.{gate,up,down}_proj.weight`, `norm.weight`, and `lm_head.weight` unless the embeddings are tied.
    The vision tower and projector are not in it (they stay in vision_encoder.onnx)."""
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in reasoner.lm.state_dict().items()}


def write_reasoner_weights(reasoner, pack_dir: str, modes=REASONER_MODES) -> dict[str, str]:
    """Writes `reasoner.{mode}.safetensors` for each of `modes` (the reasoner's text decoder, for the app's WGSL
    engine; docs/formats.md) into `pack_dir` and returns {mode: path relative to the pack}, the manifest's
    `paths.reasoner_weights`. Shared by tools/make_tiny_random.py and tools/shapes/make_pack.py."""
    state = reasoner_state(reasoner)
    for mode in modes:
        tensors, bf16 = quantise_reasoner_state(state, mode)
        write_safetensors(os.path.join(pack_dir, REASONER_WEIGHT_FILES[mode]), tensors,
                          {"format": "pt", "rgvlm.quantisation": mode}, bf16)
    return {mode: REASONER_WEIGHT_FILES[mode] for mode in modes}
