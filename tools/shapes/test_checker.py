"""Checker accuracy on the generator's own images, and the PNG fixtures for the TypeScript twin.

    /usr/bin/python3 -m tools.shapes.test_checker            # accuracy on 1800 + 600 images (asserts 100 %)
    /usr/bin/python3 -m tools.shapes.test_checker --fixtures # (re)writes tests/fixtures/shapes/
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from tools.rgvlm.png import decode_png, encode_png
from tools.shapes.checker import check, counts_from_objs, matches
from tools.shapes.world import COLOURS, KINDS, MAX_COUNT, mixed_scene, scene

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures", "shapes")


def accuracy() -> dict:
    t = time.time()
    total = ok = 0
    fails = []
    # every (count, colour, kind) in both layouts, 5 seeds each: 10 * 6 * 3 * 2 * 5 = 1800 images
    for seed in range(5):
        for layout in ("ordered", "random"):
            for n in range(MAX_COUNT + 1):
                for colour in COLOURS:
                    for kind in KINDS:
                        img, objs = scene(n, colour, kind, seed, layout)
                        r = check(img)
                        good = matches(r, n, colour, kind) and r["counts"] == counts_from_objs(objs)
                        total += 1
                        ok += good
                        if not good:
                            fails.append((n, colour, kind, seed, layout, r["counts"]))
    single = (ok, total)
    # mixed scenes (two colours / kinds): 600 images
    ok2 = 0
    for seed in range(600):
        img, objs = mixed_scene(seed)
        r = check(img)
        good = r["counts"] == counts_from_objs(objs)
        ok2 += good
        if not good:
            fails.append(("mixed", seed, r["counts"], counts_from_objs(objs)))
    return {"single": single, "mixed": (ok2, 600), "fails": fails[:10], "seconds": time.time() - t}


def write_fixtures() -> None:
    os.makedirs(FIX, exist_ok=True)
    cases = []
    specs = [
        ("five_red_circles", lambda: scene(5, "red", "circle", 42, "ordered")),
        ("zero_blue_squares", lambda: scene(0, "blue", "square", 1, "ordered")),
        ("nine_yellow_triangles", lambda: scene(9, "yellow", "triangle", 2, "ordered")),
        ("three_purple_squares_random", lambda: scene(3, "purple", "square", 3, "random")),
        ("seven_orange_circles_random", lambda: scene(7, "orange", "circle", 4, "random")),
        ("one_green_triangle", lambda: scene(1, "green", "triangle", 5, "ordered")),
        ("mixed_11", lambda: mixed_scene(11)),
        ("mixed_12", lambda: mixed_scene(12)),
    ]
    for name, f in specs:
        img, objs = f()
        png = encode_png(img)
        with open(os.path.join(FIX, name + ".png"), "wb") as fh:
            fh.write(png)
        assert np.array_equal(decode_png(png), img)
        r = check(img)
        assert r["counts"] == counts_from_objs(objs), (name, r["counts"])
        cases.append({"file": name + ".png", "truth": counts_from_objs(objs), "python": r})
    # a blurred image (what a generator gives): the Python result is recorded for the TS twin to reproduce
    img, objs = scene(4, "green", "square", 6, "ordered")
    k = np.ones(3) / 3.0
    f = img.astype(np.float64)
    f = (f[:-2] + f[1:-1] + f[2:]) / 3.0
    f = (f[:, :-2] + f[:, 1:-1] + f[:, 2:]) / 3.0
    blurred = np.full_like(img, 255)
    blurred[1:-1, 1:-1] = np.floor(f + 0.5).astype(np.uint8)
    del k
    with open(os.path.join(FIX, "blurred_four_green_squares.png"), "wb") as fh:
        fh.write(encode_png(blurred))
    cases.append({"file": "blurred_four_green_squares.png", "truth": counts_from_objs(objs), "python": check(blurred)})
    with open(os.path.join(FIX, "cases.json"), "w") as fh:
        json.dump({"generator": "tools/shapes/test_checker.py --fixtures", "cases": cases}, fh, indent=1)
        fh.write("\n")
    print(f"wrote {len(cases)} fixtures to {FIX}")


def main() -> int:
    if "--fixtures" in sys.argv:
        write_fixtures()
        return 0
    r = accuracy()
    s, m = r["single"], r["mixed"]
    print(f"single-group images: {s[0]}/{s[1]} correct; mixed images: {m[0]}/{m[1]} correct ({r['seconds']:.1f}s)")
    for f in r["fails"]:
        print("FAIL", f)
    assert s[0] == s[1] and m[0] == m[1]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
