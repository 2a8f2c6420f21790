"""The synthetic shapes world: 64x64 RGB images of coloured shapes and the text world around them.

Everything here is a pure function of its arguments (seeded numpy PCG64 streams), so a seed always gives the same
image, prompt list and split.

Images
  - white background, a 3x3 grid of 20x20 cells (origin 2 px), one shape per occupied cell: nothing overlaps and
    neighbouring shapes are at least 2 px apart.
  - kinds: circle, square, triangle (pointing up), each 14x14 px (bbox), hard edges (no anti-aliasing);
  - colours: PALETTE (six colours chosen far apart in RGB, and closed under the three mixes of MIXES);
  - counts 0-9 (9 = every cell).
  - layout "ordered": the first n cells in row-major order (what the painter is trained on: the easiest layout to
    learn); "random": n distinct cells drawn at random (used for understanding questions and checker tests).
  - jitter: each shape moves by up to +-JITTER px inside its cell.

Text
  - captions: "3 red circles", "1 blue square", "0 green triangles";
  - reasoning prompts (one step of thought): sums, differences, word problems, colour mixing, comparisons, plus
    direct requests; every prompt has its chain-of-thought target in the paper's format
    `<think>2 + 3 = 5, so five red circles</think><answer>5 red circles</answer>` and its target (n, colour, kind);
  - understanding questions about images ("how many triangles are there?") with short answers;
  - plain text knowledge for stage 0 ("what is 2 plus 3?" -> "5", "what colour do you get mixing blue and yellow?").
  - held-out split: a prompt is held out when crc32(prompt) % 100 < HELDOUT_PERCENT (about 15 %), for every
    template; training never sees a held-out prompt string (it does see the same arithmetic facts in other
    prompts: the split is over prompts, not over facts).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

SIZE = 64
GRID = 3
CELL = 20
ORIGIN = 2
SHAPE = 14
JITTER = 1
BACKGROUND = (255, 255, 255)

COLOURS = ["red", "orange", "yellow", "green", "blue", "purple"]
PALETTE = {
    "red": (220, 40, 40),
    "orange": (245, 130, 20),
    "yellow": (235, 215, 25),
    "green": (40, 160, 60),
    "blue": (40, 80, 220),
    "purple": (140, 60, 180),
}
KINDS = ["circle", "square", "triangle"]
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles"}
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
MIXES = {("red", "yellow"): "orange", ("blue", "yellow"): "green", ("red", "blue"): "purple"}
NAMES = ["Tom", "Ann", "Sam", "Mia"]
HELDOUT_PERCENT = 15
MAX_COUNT = 9


def noun(kind: str, n: int) -> str:
    return kind if n == 1 else PLURAL[kind]


def caption(n: int, colour: str, kind: str) -> str:
    return f"{n} {colour} {noun(kind, n)}"


# --------------------------------------------------------------------------------------------- images
def cell_origin(slot: int) -> tuple[int, int]:
    """Top-left (y, x) of cell `slot` (row-major over the 3x3 grid)."""
    return ORIGIN + (slot // GRID) * CELL, ORIGIN + (slot % GRID) * CELL


def shape_mask(kind: str, size: int = SHAPE) -> np.ndarray:
    """bool [size, size], pixel centres inside the shape."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    c = size / 2.0
    if kind == "square":
        return np.ones((size, size), bool)
    if kind == "circle":
        return (yy - c) ** 2 + (xx - c) ** 2 <= c * c
    if kind == "triangle":
        # apex at the top middle, base along the bottom edge
        half = (yy / size) * c
        return np.abs(xx - c) <= half
    raise ValueError(kind)


_MASKS = {k: shape_mask(k) for k in KINDS}


@dataclass(frozen=True)
class Obj:
    colour: str
    kind: str
    slot: int


def render(objs: list[Obj], rng: np.random.Generator | None = None, jitter: int = JITTER) -> np.ndarray:
    """uint8 [64, 64, 3]. Jitter offsets come from rng (none when rng is None)."""
    img = np.empty((SIZE, SIZE, 3), np.uint8)
    img[:] = BACKGROUND
    pad = (CELL - SHAPE) // 2
    for o in objs:
        y0, x0 = cell_origin(o.slot)
        dy = dx = 0
        if rng is not None and jitter > 0:
            dy, dx = (int(v) for v in rng.integers(-jitter, jitter + 1, size=2))
        y, x = y0 + pad + dy, x0 + pad + dx
        m = _MASKS[o.kind]
        img[y : y + SHAPE, x : x + SHAPE][m] = PALETTE[o.colour]
    return img


def scene(n: int, colour: str, kind: str, seed: int, layout: str = "ordered") -> tuple[np.ndarray, list[Obj]]:
    """n shapes of one colour and kind. Deterministic in (n, colour, kind, seed, layout)."""
    rng = np.random.default_rng([seed, n, COLOURS.index(colour), KINDS.index(kind), 0 if layout == "ordered" else 1])
    if layout == "ordered":
        slots = list(range(n))
    else:
        slots = sorted(int(s) for s in rng.permutation(GRID * GRID)[:n])
    objs = [Obj(colour, kind, s) for s in slots]
    return render(objs, rng), objs


def mixed_scene(seed: int) -> tuple[np.ndarray, list[Obj]]:
    """One or two groups (colour, kind, count) in random cells: the images of the understanding questions."""
    rng = np.random.default_rng([seed, 77])
    groups = 1 + int(rng.integers(0, 2))
    slots = [int(s) for s in rng.permutation(GRID * GRID)]
    objs: list[Obj] = []
    used = set()
    for _ in range(groups):
        while True:
            colour = COLOURS[int(rng.integers(0, len(COLOURS)))]
            kind = KINDS[int(rng.integers(0, len(KINDS)))]
            if (colour, kind) not in used and all(k != kind and c != colour for c, k in used):
                break
        used.add((colour, kind))
        left = len(slots)
        n = int(rng.integers(1, min(5, left) + 1)) if groups == 2 else int(rng.integers(1, left + 1))
        for _ in range(n):
            objs.append(Obj(colour, kind, slots.pop(0)))
    objs.sort(key=lambda o: o.slot)
    return render(objs, rng), objs


def counts_of(objs: list[Obj]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for o in objs:
        out[(o.colour, o.kind)] = out.get((o.colour, o.kind), 0) + 1
    return out


# --------------------------------------------------------------------------------------------- text world
@dataclass(frozen=True)
class Prompt:
    template: str  # add, sub, word_add, word_sub, mix, larger, smaller, direct
    prompt: str
    think: str
    n: int
    colour: str
    kind: str

    @property
    def answer(self) -> str:
        return caption(self.n, self.colour, self.kind)

    @property
    def target(self) -> str:
        """The chain-of-thought reply in the paper's format."""
        return f"<think>{self.think}</think><answer>{self.answer}</answer>"

    @property
    def arithmetic(self) -> bool:
        return self.template in ARITHMETIC

    @property
    def heldout(self) -> bool:
        return is_heldout(self.prompt)


ARITHMETIC = ("add", "sub", "word_add", "word_sub", "larger", "smaller")


def is_heldout(text: str) -> bool:
    return zlib.crc32(text.encode("utf-8")) % 100 < HELDOUT_PERCENT


def _so(n: int, colour: str, kind: str) -> str:
    return f"so {NUMBER_WORDS[n]} {colour} {noun(kind, n)}"


def all_prompts() -> list[Prompt]:
    """Every reasoning prompt of the world, in a fixed order."""
    out: list[Prompt] = []
    for colour in COLOURS:
        for kind in KINDS:
            pl = PLURAL[kind]
            for n in range(0, MAX_COUNT + 1):
                out.append(Prompt("direct", f"draw {caption(n, colour, kind)}",
                                  f"the picture shows {n} {colour} {noun(kind, n)}, {_so(n, colour, kind)}", n, colour, kind))
            for a in range(0, MAX_COUNT + 1):
                for b in range(0, MAX_COUNT + 1):
                    if 1 <= a and 1 <= b and a + b <= MAX_COUNT:
                        n = a + b
                        out.append(Prompt("add", f"draw as many {colour} {pl} as {a} plus {b}",
                                          f"{a} + {b} = {n}, {_so(n, colour, kind)}", n, colour, kind))
                        out.append(Prompt("word_add", f"{NAMES[(a + b) % 4]} has {a} {colour} {noun(kind, a)} and gets {b} more. draw them all",
                                          f"{a} + {b} = {n}, {_so(n, colour, kind)}", n, colour, kind))
                    if 1 <= a and 1 <= b <= a:
                        n = a - b
                        out.append(Prompt("sub", f"draw {a} minus {b} {colour} {pl}",
                                          f"{a} - {b} = {n}, {_so(n, colour, kind)}", n, colour, kind))
                        out.append(Prompt("word_sub", f"there are {a} {colour} {noun(kind, a)} and {b} roll away. draw the ones left",
                                          f"{a} - {b} = {n}, {_so(n, colour, kind)}", n, colour, kind))
                    if a != b and a >= 1 and b >= 1:
                        hi, lo = max(a, b), min(a, b)
                        out.append(Prompt("larger", f"draw the larger of {a} and {b} {colour} {pl}",
                                          f"{hi} is larger than {lo}, {_so(hi, colour, kind)}", hi, colour, kind))
                        out.append(Prompt("smaller", f"draw the smaller of {a} and {b} {colour} {pl}",
                                          f"{lo} is smaller than {hi}, {_so(lo, colour, kind)}", lo, colour, kind))
        for (c1, c2), mixed in MIXES.items():
            if mixed != colour:
                continue
            for first, second in ((c1, c2), (c2, c1)):
                for kind in KINDS:
                    for n in range(1, MAX_COUNT + 1):
                        out.append(Prompt("mix", f"draw {n} {noun(kind, n)} in the colour you get mixing {first} and {second}",
                                          f"{first} and {second} make {mixed}, {_so(n, mixed, kind)}", n, mixed, kind))
    return out


def split_prompts() -> tuple[list[Prompt], list[Prompt]]:
    ps = all_prompts()
    return [p for p in ps if not p.heldout], [p for p in ps if p.heldout]


def all_captions() -> list[tuple[str, int, str, str]]:
    return [(caption(n, c, k), n, c, k) for c in COLOURS for k in KINDS for n in range(0, MAX_COUNT + 1)]


# --------------------------------------------------------------------------------------------- understanding
def questions_for(objs: list[Obj]) -> list[tuple[str, str]]:
    """(question, answer) pairs about an image, in a fixed order."""
    cnt = counts_of(objs)
    qs: list[tuple[str, str]] = []
    kinds_present = sorted({k for _, k in cnt}, key=KINDS.index)
    colours_present = sorted({c for c, _ in cnt}, key=COLOURS.index)
    total = sum(cnt.values())
    qs.append(("how many shapes are there?", str(total)))
    for kind in KINDS:
        n = sum(v for (c, k), v in cnt.items() if k == kind)
        qs.append((f"how many {PLURAL[kind]} are there?", str(n)))
    for colour in colours_present:
        n = sum(v for (c, k), v in cnt.items() if c == colour)
        qs.append((f"how many {colour} shapes are there?", str(n)))
    for kind in kinds_present:
        cs = [c for (c, k) in cnt if k == kind]
        qs.append((f"what colour are the {PLURAL[kind]}?", cs[0]))
    for colour in colours_present:
        ks = [k for (c, k) in cnt if c == colour]
        qs.append((f"what shape are the {colour} shapes?", ks[0]))
    qs.append(("describe the picture", " and ".join(caption(v, c, k) for (c, k), v in sorted(cnt.items(), key=lambda kv: (KINDS.index(kv[0][1]), COLOURS.index(kv[0][0]))))))
    return qs


UNDERSTAND_TRAIN_SEEDS = range(0, 1_000_000)
UNDERSTAND_EVAL_SEEDS = range(10_000_000, 10_000_200)


# --------------------------------------------------------------------------------------------- text knowledge
def text_facts() -> list[tuple[str, str]]:
    """Plain question -> answer pairs (the language part of stage 0)."""
    out = []
    for a in range(0, 10):
        for b in range(0, 10):
            if a + b <= MAX_COUNT:
                out.append((f"what is {a} plus {b}?", str(a + b)))
            if b <= a:
                out.append((f"what is {a} minus {b}?", str(a - b)))
            if a != b:
                out.append((f"which is larger, {a} or {b}?", str(max(a, b))))
                out.append((f"which is smaller, {a} or {b}?", str(min(a, b))))
    for (c1, c2), m in MIXES.items():
        out.append((f"what colour do you get mixing {c1} and {c2}?", m))
        out.append((f"what colour do you get mixing {c2} and {c1}?", m))
    for n in range(10):
        out.append((f"how do you write {NUMBER_WORDS[n]} as a number?", str(n)))
        out.append((f"how do you write {n} as a word?", NUMBER_WORDS[n]))
    return out


def corpus_text() -> str:
    """Extra text for the shapes pack's BPE (appended to the shared corpus)."""
    parts = []
    for p in all_prompts()[::7]:
        parts.append(p.prompt + " " + p.target)
    for q, a in text_facts():
        parts.append(q + " " + a)
    for c, n, col, k in all_captions():
        parts.append(c)
    img, objs = mixed_scene(0)
    for q, a in questions_for(objs):
        parts.append(q + " " + a)
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    tr, ho = split_prompts()
    from collections import Counter

    print("prompts", len(tr) + len(ho), "train", len(tr), "heldout", len(ho))
    print("held-out by template", Counter(p.template for p in ho))
    print(ho[0].prompt, "->", ho[0].target)
    img, objs = mixed_scene(3)
    print(objs, questions_for(objs))
