"""Deterministic checker for shapes-world images: which shapes, of which colour, how many.

The TypeScript twin is src/pipeline/rgpo/shapes_checker.ts: same constants, same integer arithmetic, same scan
order, so both give identical results on the same pixels.

Algorithm
  1. Per pixel: squared RGB distance to white and to every palette colour (integers); the nearest wins (ties go
     to the earlier entry, white first). A pixel is labelled with a palette colour when that colour is the
     nearest and the squared distance is <= TOL2; otherwise it is background.
  2. Connected components (4-connectivity) of equally labelled pixels, found by a row-major scan with an explicit
     stack flood fill. Components with fewer than MIN_AREA pixels are ignored (specks).
  3. Kind of a component from its bounding box (w x h) and area: "other" when w or h is outside
     [MIN_SIDE, MAX_SIDE]; else fill = area / (w * h): >= 0.88 square, >= 0.64 circle, else triangle
     (compared as integers: 100 * area >= 88 * w * h ...). Ideal values: square 1, circle 0.79, triangle 0.5.
  4. Objects in the order of their first pixel in the scan; counts per (colour, kind).
"""

from __future__ import annotations

import numpy as np

from .world import BACKGROUND, COLOURS, PALETTE

TOL2 = 70 * 70
MIN_AREA = 12
MIN_SIDE = 6
MAX_SIDE = 24
SQUARE_FILL = 88
CIRCLE_FILL = 64

_REFS = np.array([BACKGROUND] + [PALETTE[c] for c in COLOURS], dtype=np.int32)  # 0 = background


def label_pixels(rgb: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3 or 4] -> int32 [H, W]: colour index into COLOURS, or -1."""
    px = rgb[..., :3].astype(np.int32)
    d2 = ((px[:, :, None, :] - _REFS[None, None]) ** 2).sum(-1)  # [H, W, 7]
    best = np.argmin(d2, axis=-1)  # first minimum on ties
    bd = np.take_along_axis(d2, best[..., None], -1)[..., 0]
    return np.where((best > 0) & (bd <= TOL2), best - 1, -1).astype(np.int32)


def kind_of(area: int, w: int, h: int) -> str:
    if w < MIN_SIDE or h < MIN_SIDE or w > MAX_SIDE or h > MAX_SIDE:
        return "other"
    if 100 * area >= SQUARE_FILL * w * h:
        return "square"
    if 100 * area >= CIRCLE_FILL * w * h:
        return "circle"
    return "triangle"


def check(rgb: np.ndarray) -> dict:
    """-> {"objects": [{"colour", "kind", "area", "bbox": [x0, y0, x1, y1]}], "counts": {"red circle": n, ...}}"""
    lab = label_pixels(rgb)
    H, W = lab.shape
    flat = lab.reshape(-1).tolist()
    seen = [False] * (H * W)
    objects = []
    for start in range(H * W):
        c = flat[start]
        if c < 0 or seen[start]:
            continue
        seen[start] = True
        stack = [start]
        area = 0
        x0, y0, x1, y1 = W, H, -1, -1
        while stack:
            p = stack.pop()
            area += 1
            y, x = divmod(p, W)
            x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
            # neighbours in a fixed order: up, down, left, right
            if y > 0 and not seen[p - W] and flat[p - W] == c:
                seen[p - W] = True
                stack.append(p - W)
            if y < H - 1 and not seen[p + W] and flat[p + W] == c:
                seen[p + W] = True
                stack.append(p + W)
            if x > 0 and not seen[p - 1] and flat[p - 1] == c:
                seen[p - 1] = True
                stack.append(p - 1)
            if x < W - 1 and not seen[p + 1] and flat[p + 1] == c:
                seen[p + 1] = True
                stack.append(p + 1)
        if area < MIN_AREA:
            continue
        w, h = x1 - x0 + 1, y1 - y0 + 1
        objects.append({"colour": COLOURS[c], "kind": kind_of(area, w, h), "area": area, "bbox": [x0, y0, x1, y1]})
    counts: dict[str, int] = {}
    for o in objects:
        k = f"{o['colour']} {o['kind']}"
        counts[k] = counts.get(k, 0) + 1
    return {"objects": objects, "counts": counts}


def matches(result: dict, n: int, colour: str, kind: str) -> bool:
    """The image shows exactly n shapes, all of this colour and kind (n = 0: no shape at all)."""
    objs = result["objects"]
    return len(objs) == n and all(o["colour"] == colour and o["kind"] == kind for o in objs)


def counts_from_objs(objs) -> dict[str, int]:
    """The checker's `counts` format for a world scene's ground truth."""
    out: dict[str, int] = {}
    for o in objs:
        k = f"{o.colour} {o.kind}"
        out[k] = out.get(k, 0) + 1
    return out
