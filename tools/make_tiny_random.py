#!/usr/bin/env python3
"""Builds the tiny-random pack (public/models/tiny-random/) and its PyTorch reference fixtures
(tests/fixtures/tiny-random/). One command, byte-identical on rerun:

    /usr/bin/python3 tools/make_tiny_random.py            # pack + fixtures
    /usr/bin/python3 tools/make_tiny_random.py --check    # rebuild into a temp dir, compare bytes with the tree

Python is never needed to build or test the app; this regenerates committed files.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.rgvlm import pipeline as P  # noqa: E402
from tools.rgvlm.config import SPECIAL_TOKENS, SYSTEM_PROMPT_PLAIN, PackConfig, tiny_random  # noqa: E402
from tools.rgvlm.corpus import corpus_text  # noqa: E402
from tools.rgvlm.model import Painter, build, sincos_2d, timestep_embedding  # noqa: E402
from tools.rgvlm.noise import latent_noise, philox_words, seeded_normal  # noqa: E402
from tools.rgvlm.pack import write_bin, write_bytes, write_json, write_manifest, write_model_files  # noqa: E402
from tools.rgvlm.png import encode_png  # noqa: E402
from tools.rgvlm.safetensors_io import dequantise_state  # noqa: E402
from tools.rgvlm.tokenizer import ByteBPETokenizer, train_bpe  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACK_REL = "public/models/tiny-random"
FIX_REL = "tests/fixtures/tiny-random"
MIN_MARGIN = 1e-2

# Fixture settings
GREEDY_MAX_NEW = 16
ROW_STOP_STEP = 5
IMAGINE = {"prompt": "draw the result of 3 apples plus 2 apples", "seed": 42, "steps": 4, "guidance": 3.0,
           "cot": True, "max_new_tokens": 16, "width": 64, "height": 64}
EDIT = {"instruction": "make the square green", "seed": 42, "steps": 4, "guidance": 3.0, "cot": True,
        "max_new_tokens": 16, "strength": 0.6, "width": 64, "height": 64}


# What the studio shows where the user types (manifest `inputs`): random weights can do nothing meaningful, so the
# placeholders say so and there are no examples.
INPUTS = {
    "prompt": {"placeholder": "Any text (random weights: the reasoning is nonsense, the image noise)"},
    "instruction": {"placeholder": "Any text (random weights: the image comes back as noise)"},
    "question": {"placeholder": "Any text (random weights: the answer is nonsense)"},
}


def shape_image_32() -> np.ndarray:
    """The Understand fixture image: three red discs on white, 32x32 (the vision encoder's input size)."""
    img = np.full((32, 32, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:32, 0:32]
    for cy, cx in [(9, 9), (9, 23), (23, 16)]:
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= 25] = (220, 30, 40)
    return img


def edit_image_64() -> np.ndarray:
    """The Edit input: a blue square on yellow, drawn at 32x32 and doubled (2x2 blocks), so every resampler
    that halves it (box, bilinear at exact 2:1, nearest) gives the same 32x32 image for the reasoner."""
    small = np.zeros((32, 32, 3), np.uint8)
    small[:] = (240, 210, 40)
    small[8:24, 10:22] = (30, 60, 200)
    small[0:4, :] = (250, 250, 250)
    return small.repeat(2, axis=0).repeat(2, axis=1)


# --------------------------------------------------------------------------------------------- build
def build_pack(pc: PackConfig, root: str, log) -> dict:
    """Writes the pack and the fixtures under `root`; returns a summary."""
    t_start = time.time()
    pack = os.path.join(root, PACK_REL)
    fix = os.path.join(root, FIX_REL)
    for d in (pack, fix):
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)

    vocab, merges = train_bpe(corpus_text(), pc.reasoner.vocab_size, SPECIAL_TOKENS)
    tok = ByteBPETokenizer(vocab, merges, SPECIAL_TOKENS)
    assert tok.size == pc.reasoner.vocab_size
    assert tok.token_to_id["<image>"] == pc.reasoner.image_token_id
    assert [tok.token_to_id["<|im_end|>"], tok.token_to_id["<|endoftext|>"]] == pc.reasoner.eos_token_ids
    log(f"tokenizer: {len(vocab)} BPE tokens, {len(merges)} merges ({time.time() - t_start:.1f}s)")

    reasoner, painter, vae = build(pc)
    t = time.time()
    quantised = write_model_files(pack, pc, tok, reasoner, painter, vae)
    variants = {mode: dequantise_state(st) for mode, st in quantised.items()}
    log(f"configs, onnx export, weights ({time.time() - t:.1f}s)")

    fixtures = build_fixtures(pc, tok, reasoner, painter, vae, variants, fix, log)

    write_bytes(
        os.path.join(pack, "README.md"),
        (
            "# tiny-random\n\nRandom weights (numpy PCG64, seed "
            f"{pc.init.seed}) in the RG-VLM / MindOmni architecture at a size that runs on software WebGPU. "
            "For tests only: it paints noise and reasons nonsense.\n\nRegenerate with "
            "`/usr/bin/python3 tools/make_tiny_random.py` (see tools/README.md). Licence: Apache-2.0.\n"
        ).encode(),
    )

    card = {
        "name": "Tiny random (test pack)",
        "description": "Random weights in the full RG-VLM architecture, tiny enough for software WebGPU. "
        "Reasons nonsense and paints noise; used by the tests.",
        "licence": "Apache-2.0",
        "source": f"tools/make_tiny_random.py (random init, seed {pc.init.seed})",
    }
    manifest = write_manifest(pack, pc, tok, card, fixtures["imagine"]["condition_length_positive"], {"inputs": INPUTS})
    files, total = manifest["files"], manifest["total_bytes"]
    log(f"pack: {len(files) + 1} files, {total / 1e6:.2f} MB; painter forward {manifest['stats']}")
    log(f"total {time.time() - t_start:.1f}s")
    return manifest


def build_fixtures(pc, tok, reasoner, painter: Painter, vae, variants, fix, log) -> dict:
    t = time.time()
    r = pc.reasoner
    stop_understand = list(r.eos_token_ids)
    answer_end = tok.token_to_id["</answer>"]
    stop_imagine = list(r.eos_token_ids) + [answer_end]
    out: dict = {
        "about": "PyTorch reference outputs of the tiny-random pack (tools/make_tiny_random.py). All .bin files are "
        "raw little-endian float32, row-major, shapes given here. Checksums are float64 sums over the f32 values.",
        "stop_ids_understand": stop_understand,
        "stop_ids_imagine": stop_imagine,
        "min_margin_required": MIN_MARGIN,
    }
    margins_all = []

    # ---- noise
    out["noise"] = {
        "seed": 42,
        "first16": [float(x) for x in seeded_normal(42, 16)],
        "first16_words": [int(x) for x in philox_words(42, 16)],
        "seed_7_first4": [float(x) for x in seeded_normal(7, 4)],
    }

    # ---- tokenizer edge cases (Python ids; the node test compares @huggingface/tokenizers on tokenizer.json)
    cases = [
        "Hello  world\n\n it's 3.14   x",
        "draw <image> the <think>x</think>\t\tend  ",
        "\u00dcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e emoji \U0001f389 ok",
        "a\u00a0b\u2003c \x1c d",
        "<|im_start|>user\nhi<|im_end|>\n",
        "  leading",
        "trailing   ",
        "I'LL don't 'sam",
        "x\r\ny",
        "\n\n\nz",
        "3 red circles + 2 blue squares = 5 shapes!!",
        "<answer> 5 green apples </answer><|endoftext|>",
        "",
    ]
    out["tokenizer_cases"] = [{"text": c, "ids": tok.encode(c)} for c in cases]

    # ---- greedy prompts
    img32 = shape_image_32()
    write_bytes(os.path.join(fix, "understand_image.png"), encode_png(img32))
    pv = P.pixel_values_from_rgb(img32, r.vision.image_mean, r.vision.image_std)
    write_bin(os.path.join(fix, "understand_pixel_values.bin"), pv)
    prompts = [
        ("cot", P.imagine_messages(IMAGINE["prompt"], cot=True), None),
        ("plain", [{"role": "system", "content": SYSTEM_PROMPT_PLAIN},
                   {"role": "user", "content": "What is two plus three?"}], None),
        ("image", [{"role": "system", "content": SYSTEM_PROMPT_PLAIN},
                   {"role": "user", "content": "<image>\nHow many shapes are in this picture?"}], pv),
    ]
    greedy = []
    for name, msgs, pix in prompts:
        text, ids = P.render_prompt(tok, pc, msgs)
        g = P.generate(reasoner, ids, pix, GREEDY_MAX_NEW, stop_understand)
        margins_all += g.margins
        with torch.no_grad():
            feats = reasoner.vision(torch.from_numpy(pix)).numpy() if pix is not None else None
            # the same rows after the final norm (the old condition): tests show the engine does NOT return these
            emb = reasoner.embed(torch.tensor([ids + g.generated[:-1]]), None if pix is None else torch.from_numpy(pix))
            n = emb.shape[1]
            past0 = [torch.zeros(1, r.num_key_value_heads, 0, r.head_dim) for _ in range(2 * r.num_hidden_layers)]
            _, _, post, pre = reasoner.lm.forward_states(emb, torch.ones(1, n, dtype=torch.int64),
                                                         torch.arange(n).unsqueeze(0), past0)
            assert np.abs(pre[0].numpy() - g.hidden).max() < 1e-4, "full-sequence pre-norm rows = the cached ones"
        entry = {
            "name": name,
            "messages": msgs,
            "rendered": text,
            "input_ids": ids,
            "prompt_length": len(ids),
            "max_new_tokens": GREEDY_MAX_NEW,
            "generated_ids": g.generated,
            "generated_text": tok.decode(g.generated),
            "hidden_rows": int(g.hidden.shape[0]),
            "hidden_checksum": P.checksum(g.hidden),
            "prefill_hidden_checksum": P.checksum(g.hidden[: len(ids)]),
            "post_norm_hidden_checksum": P.checksum(post[0].numpy()),
            "min_margin": min(g.margins),
        }
        if pix is not None:
            entry["image"] = "understand_image.png"
            entry["pixel_values"] = {"file": "understand_pixel_values.bin", "shape": list(pv.shape)}
            entry["image_features_checksum"] = P.checksum(feats)
        greedy.append(entry)
    out["greedy"] = greedy

    # ---- a stop token whose own row is computed (MindOmni's </answer>): tiny-random never writes </answer> in
    # 16 tokens, so the cot prompt stops at the token it generates at step ROW_STOP_STEP, treated as a row stop.
    cot = greedy[0]
    k = cot["generated_ids"].index(cot["generated_ids"][ROW_STOP_STEP])
    stop_tok = cot["generated_ids"][k]
    g = P.generate(reasoner, cot["input_ids"], None, GREEDY_MAX_NEW, [stop_tok], [stop_tok])
    assert g.generated == cot["generated_ids"][: k + 1] and g.hidden.shape[0] == cot["prompt_length"] + k + 1
    out["row_stop"] = {
        "about": "the cot prompt stopped at generated token `stop_id` (step `step`) with that stop's own row computed, "
        "as MindOmni's </answer>: prompt_length + step + 1 rows",
        "greedy": "cot",
        "stop_id": stop_tok,
        "step": k,
        "generated_ids": g.generated,
        "hidden_rows": int(g.hidden.shape[0]),
        "hidden_checksum": P.checksum(g.hidden),
        "last_row_checksum": P.checksum(g.hidden[-1:]),
    }

    # ---- painter velocity for a fixed input
    rng = np.random.default_rng(7)
    cond = rng.standard_normal((1, 8, pc.connector.input_size)).astype(np.float32)
    lat = rng.standard_normal((1, pc.painter.latent_channels, 16, 16)).astype(np.float32)
    tt = 0.3
    write_bin(os.path.join(fix, "painter_condition.bin"), cond)
    write_bin(os.path.join(fix, "painter_latents.bin"), lat)
    vel = {}
    for mode, sd in variants.items():
        p2 = Painter(pc.connector, pc.painter).eval()
        p2.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()})
        vel[mode] = P.velocity(p2, cond[0], lat, tt)
        write_bin(os.path.join(fix, f"painter_velocity.{mode}.bin"), vel[mode])
    with torch.no_grad():
        conn = painter.connector(torch.from_numpy(cond)).numpy()
        ttok, temb = (x.numpy() for x in painter.painter.time_embeddings(torch.tensor([tt])))
        tfreq = timestep_embedding(torch.tensor([tt * pc.painter.timestep_scale]), pc.painter.timestep_freq_dim,
                                   pc.painter.timestep_max_period).numpy()
        pos = sincos_2d(8, 8, pc.painter.hidden_size, pc.painter).numpy()
    write_bin(os.path.join(fix, "painter_connector_out.bin"), conn)
    write_bin(os.path.join(fix, "painter_temb.bin"), temb)
    write_bin(os.path.join(fix, "painter_time_token.bin"), ttok)
    write_bin(os.path.join(fix, "painter_timestep_freq.bin"), tfreq)
    write_bin(os.path.join(fix, "painter_pos_embed_8x8.bin"), pos)
    out["painter"] = {
        "condition": {"file": "painter_condition.bin", "shape": list(cond.shape)},
        "latents": {"file": "painter_latents.bin", "shape": list(lat.shape)},
        "timestep": tt,
        "velocity": {m: {"file": f"painter_velocity.{m}.bin", "shape": list(v.shape), "checksum": P.checksum(v)}
                     for m, v in vel.items()},
        "tolerance": 1e-4,
        "intermediates": {
            "connector_out": {"file": "painter_connector_out.bin", "shape": list(conn.shape)},
            "temb": {"file": "painter_temb.bin", "shape": list(temb.shape), "note": "t_embedder(t): the adaLN input"},
            "time_token": {"file": "painter_time_token.bin", "shape": list(ttok.shape),
                           "note": "time_token(t): the sequence's time token"},
            "timestep_freq": {"file": "painter_timestep_freq.bin", "shape": list(tfreq.shape)},
            "pos_embed_8x8": {"file": "painter_pos_embed_8x8.bin", "shape": list(pos.shape)},
        },
        "quantised_vs_f32_max_abs_diff": {m: float(np.abs(v - vel["f32"]).max()) for m, v in vel.items()},
    }

    # ---- negative condition (prefill only), shared by Imagine and Edit
    neg_text, neg_ids = P.render_prompt(tok, pc, P.negative_messages(pc))
    neg = P.generate(reasoner, neg_ids, None, 0, stop_imagine)
    write_bin(os.path.join(fix, "negative_condition.bin"), neg.hidden)
    negative = {
        "messages": P.negative_messages(pc),
        "rendered": neg_text,
        "input_ids": neg_ids,
        "condition_length": int(neg.hidden.shape[0]),
        "condition": {"file": "negative_condition.bin", "shape": list(neg.hidden.shape)},
        "checksum": P.checksum(neg.hidden),
    }
    out["negative"] = negative

    def reason(name: str, msgs: list, pixel_values, max_new_tokens: int):
        """The reasoner's half of an Imagine / Edit fixture: the prompt, greedy tokens, the condition rows."""
        text, ids = P.render_prompt(tok, pc, msgs)
        g = P.generate(reasoner, ids, pixel_values, max_new_tokens, stop_imagine, P.row_stop_ids(pc, answer_end))
        margins_all.extend(g.margins)
        write_bin(os.path.join(fix, f"{name}_condition.bin"), g.hidden)
        return g, {
            "messages": msgs,
            "rendered": text,
            "input_ids": ids,
            "generated_ids": g.generated,
            "generated_text": tok.decode(g.generated),
            "condition_length_positive": int(g.hidden.shape[0]),
            "condition_length_negative": negative["condition_length"],
            "condition": {"file": f"{name}_condition.bin", "shape": list(g.hidden.shape), "checksum": P.checksum(g.hidden)},
        }

    def latent_shape(settings: dict) -> tuple:
        return (1, pc.painter.latent_channels, settings["height"] // pc.vae.downscale, settings["width"] // pc.vae.downscale)

    def paint(name: str, settings: dict, condition, z0, t0: float, latents_note: str, image_note: dict) -> dict:
        """The painter's half: Euler steps from z0 at t0 with the negative condition, the VAE decode, the PNG."""
        zs = P.sample(painter, condition, neg.hidden, z0, t0, settings["steps"], settings["guidance"])
        img = P.vae_decode(vae, pc, zs[-1])
        pix = P.to_pixels(img)
        write_bin(os.path.join(fix, f"{name}_latents.bin"), np.stack(zs, 0))
        write_bin(os.path.join(fix, f"{name}_image.bin"), img)
        write_bytes(os.path.join(fix, f"{name}.png"), encode_png(pix))
        shape = list(z0.shape)
        return {
            "sigmas": [float(s) for s in P.sigmas(t0, settings["steps"])],
            "latent_shape": shape,
            "latents": {"file": f"{name}_latents.bin", "shape": [settings["steps"] + 1, *shape], "note": latents_note},
            "image": {"file": f"{name}_image.bin", "shape": list(img.shape), "checksum": P.checksum(img), **image_note},
            "png": f"{name}.png",
            "pixel_checksum": int(pix.astype(np.int64).sum()),
        }

    # ---- Imagine
    I = IMAGINE
    g, reasoned = reason("imagine", P.imagine_messages(I["prompt"], cot=I["cot"]), None, I["max_new_tokens"])
    z0 = latent_noise(I["seed"], latent_shape(I))
    out["imagine"] = {
        **I,
        **reasoned,
        **paint("imagine", I, g.hidden, z0, 0.0, "z_0 (the seeded noise) .. z_N (after the last Euler step)",
                {"note": "VAE decoder output in [-1, 1], before clamping"}),
    }

    # ---- Edit
    E = EDIT
    img64 = edit_image_64()
    write_bytes(os.path.join(fix, "edit_input.png"), encode_png(img64))
    small = img64[::2, ::2]
    epv = P.pixel_values_from_rgb(small, r.vision.image_mean, r.vision.image_std)
    write_bin(os.path.join(fix, "edit_pixel_values.bin"), epv)
    msgs = P.imagine_messages(E["instruction"], cot=E["cot"], with_image=True)
    g, reasoned = reason("edit", msgs, epv, E["max_new_tokens"])
    x1 = P.vae_encode(vae, pc, P.image_to_vae_input(img64))
    write_bin(os.path.join(fix, "edit_x1.bin"), x1)
    t0 = np.float32(1.0) - np.float32(E["strength"])
    noise = latent_noise(E["seed"], latent_shape(E))
    z0 = (t0 * x1 + (np.float32(1.0) - t0) * noise).astype(np.float32)
    out["edit"] = {
        **E,
        "input_png": "edit_input.png",
        "reasoner_image_note": "the reasoner sees the input halved to 32x32 (it is made of 2x2 blocks, so any "
        "2:1 resampler gives the same pixels)",
        "pixel_values": {"file": "edit_pixel_values.bin", "shape": list(epv.shape)},
        **reasoned,
        "x1": {"file": "edit_x1.bin", "shape": list(x1.shape), "checksum": P.checksum(x1),
               "note": "(vae_encoder(input * 2 - 1 mean) - shift) * scale"},
        "t0": float(t0),
        **paint("edit", E, g.hidden, z0, float(t0), "z_0 = t0 * x1 + (1 - t0) * noise .. z_N", {}),
    }

    out["min_margin"] = min(margins_all)
    if out["min_margin"] <= MIN_MARGIN:
        raise SystemExit(f"greedy margin {out['min_margin']} <= {MIN_MARGIN}: pick another init seed")
    write_json(os.path.join(fix, "fixtures.json"), out)
    log(f"fixtures: min greedy margin {out['min_margin']:.4f} ({time.time() - t:.1f}s)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="rebuild in a temp dir and compare bytes with the tree")
    ap.add_argument("--out", default=ROOT, help="repository root to write into (default: this checkout)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # torch.onnx tracer chatter
    torch.manual_seed(0)
    pc = tiny_random()
    log = lambda s: print(s, flush=True)  # noqa: E731
    if not args.check:
        build_pack(pc, args.out, log)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build_pack(pc, tmp, log)
        bad = []
        for rel in (PACK_REL, FIX_REL):
            a, b = os.path.join(ROOT, rel), os.path.join(tmp, rel)
            cmp = filecmp.dircmp(a, b)
            stack = [cmp]
            while stack:
                c = stack.pop()
                bad += [os.path.join(c.left, x) for x in c.left_only + c.right_only + c.diff_files]
                _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
                bad += [os.path.join(c.left, x) for x in mismatch + errors]
                stack += list(c.subdirs.values())
        if bad:
            print("DIFFERENT:\n  " + "\n  ".join(sorted(set(bad))))
            return 1
        print("identical")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
