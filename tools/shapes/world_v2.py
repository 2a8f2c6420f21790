"""World v2: the shapes world's text side as people write it, with splits that measure reasoning honestly.

World v1 (world.py) stays as it is: the shipped pack was trained on it and its tokenizer is trained on v1's text.
v2 reuses v1's images, palette, captions, understanding questions and text facts; what changes is the prompts.

Phrasings
  Every request is an *item* (intent + numbers + colour + kind, e.g. add 2 3 red circle) phrased by a named
  *template family* (FAMILIES, e.g. `add_count`: "{verb} {a} plus {b} {colour} {shapes}") and a *surface*: the verb
  frame (draw / paint / show / make / sketch / give me / I want / can you ...?), numbers as digits or words, the
  operator as "plus" / "+" / " + " (minus likewise), a capital first letter, a full stop / "!" / "?", doubled or
  trailing spaces. The target is the paper's `<think>...</think><answer>...</answer>`; the answer is the caption.
  Names in word problems are chosen by a hash of the whole phrasing (family, numbers, colour, kind, surface), never
  by the numbers alone; every name appears with every sum.

Out of world
  Requests for things the pack cannot draw (animals, objects, scenes, other shapes, other colours, more than nine,
  near-empty text) get the target `<think>{OOW_THINK}</think><answer>{OOW_ANSWER}</answer>`, n = 0 and no colour or
  kind: the painter's target for them is the empty (white) canvas, so what it paints is defined and the checker reads
  it as "no shape"; the app can tell this answer from a caption (it does not start with a digit) and show it as text.

Splits (three, disjoint; `split_of`)
  - held-out *facts* (HELDOUT_SUMS, HELDOUT_COMPARISONS): an addition triple {x, y, x + y} covers x + y, y + x and
    the subtractions (x + y) - x, (x + y) - y; a comparison pair covers larger and smaller in both orders. Items with
    a held-out fact are never in train (any phrasing, any target); half go to validation, half to test (by target).
    They remain in v1's text facts ("what is 2 plus 3?" -> "5"): plain knowledge, as the paper relies on.
  - other items by crc32 of their target text: < 80 train, 80-89 validation, 90-99 test, so no validation or test
    reasoning target appears in train in any phrasing. Out-of-world items all share one target, so they split by
    their text instead (crc32 of the thing asked for).
  - held-out *template families* (HELDOUT_FAMILIES): never phrase a training prompt; they phrase validation and test
    items only. Each has a marker phrase that no training family contains (tested).
  - understanding images: validation seeds UNDERSTAND_VAL_SEEDS (v1's eval seeds), test UNDERSTAND_TEST_SEEDS;
    `train_scene` redraws any scene whose objects equal a validation or test scene's.
  The validation split is for choices made while training; the test split is looked at once, at the end.

    PYTHONPATH=. /usr/bin/python3 -m tools.shapes.world_v2   # split sizes
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass

from tools.shapes import world as W

NAMES = ["Tom", "Ann", "Sam", "Mia", "Leo", "Zoe", "Ben", "Eva"]
OOW_THINK = "that is not something I can draw"
OOW_ANSWER = "I can only draw 0 to 9 circles, squares or triangles in red, orange, yellow, green, blue or purple"
TRAIN_PERCENT, VAL_PERCENT = 80, 10
SPLITS = ("train", "validation", "test")

# facts never in a training drawing prompt or target: addition triples (x, y) meaning {x, y, x + y}, comparisons (x, y)
HELDOUT_SUMS = ((1, 4), (2, 3), (2, 6), (3, 4), (1, 7))
HELDOUT_COMPARISONS = ((2, 5), (3, 7), (4, 6), (1, 8), (5, 9), (6, 7), (2, 9))

UNDERSTAND_VAL_SEEDS = range(10_000_000, 10_000_200)
UNDERSTAND_TEST_SEEDS = range(20_000_000, 20_000_200)

OTHER_SHAPES = ["hexagons", "stars", "hearts", "rectangles", "ovals", "diamonds", "lines"]
OTHER_COLOURS = ["pink", "black", "brown", "grey", "white", "gold", "cyan"]
THINGS = {
    "ow_animal": ["a cat", "a dog", "two birds", "a horse", "a fish", "three cats", "a big elephant", "a small mouse",
                  "an owl", "a frog", "a lion", "some ducks"],
    "ow_object": ["a car", "a house", "a red apple", "a chair", "a cup of tea", "a tree", "a bicycle", "a clock",
                  "my face", "a green hat", "an umbrella", "a boat"],
    "ow_scene": ["a cat on the moon", "the sea at night", "a city in the rain", "a forest in autumn",
                 "a beach at sunset", "mountains with snow", "a garden full of flowers", "a busy street"],
}
EMPTYISH = ["", " ", "?", ".", "...", "hi", "hello", "thanks", "ok", "hmm", "asdf", "draw", "paint something",
            "draw anything", "surprise me", "what can you draw?"]


# --------------------------------------------------------------------------------------------- items
@dataclass(frozen=True)
class Item:
    intent: str  # direct, add, sub, larger, smaller, mix, oow
    a: int = 0  # numbers of the request (direct: a = n; mix: a = n)
    b: int = 0
    colour: str | None = None  # mix: the mixed colour
    kind: str | None = None
    mix: tuple[str, str] | None = None  # mix: the two colours in the order asked
    thing: str = ""  # oow: what was asked for (the family fills it in)
    oow_family: str = ""

    @property
    def n(self) -> int:
        if self.intent in ("direct", "mix"):
            return self.a
        if self.intent == "add":
            return self.a + self.b
        if self.intent == "sub":
            return self.a - self.b
        if self.intent == "larger":
            return max(self.a, self.b)
        if self.intent == "smaller":
            return min(self.a, self.b)
        return 0

    @property
    def think(self) -> str:
        if self.intent == "oow":
            return OOW_THINK
        n, c, k = self.n, self.colour, self.kind
        so = f"so {W.NUMBER_WORDS[n]} {c} {W.noun(k, n)}"
        if self.intent == "direct":
            return f"the picture shows {n} {c} {W.noun(k, n)}, {so}"
        if self.intent == "add":
            return f"{self.a} + {self.b} = {n}, {so}"
        if self.intent == "sub":
            return f"{self.a} - {self.b} = {n}, {so}"
        if self.intent in ("larger", "smaller"):
            hi, lo = max(self.a, self.b), min(self.a, self.b)
            rel = f"{hi} is larger than {lo}" if self.intent == "larger" else f"{lo} is smaller than {hi}"
            return f"{rel}, {so}"
        return f"{self.mix[0]} and {self.mix[1]} make {c}, {so}"

    @property
    def answer(self) -> str:
        return OOW_ANSWER if self.intent == "oow" else W.caption(self.n, self.colour, self.kind)

    @property
    def target(self) -> str:
        return f"<think>{self.think}</think><answer>{self.answer}</answer>"

    @property
    def fact(self) -> tuple | None:
        """The arithmetic fact the item rests on: ("sum", x, y) for {x, y, x + y}, ("cmp", lo, hi), else None."""
        if self.intent == "add":
            return ("sum", min(self.a, self.b), max(self.a, self.b))
        if self.intent == "sub":
            return ("sum", min(self.b, self.n), max(self.b, self.n))
        if self.intent in ("larger", "smaller"):
            return ("cmp", min(self.a, self.b), max(self.a, self.b))
        return None


HELDOUT_FACTS = frozenset([("sum", x, y) for x, y in HELDOUT_SUMS] + [("cmp", x, y) for x, y in HELDOUT_COMPARISONS])


def _bucket(text: str) -> int:
    return zlib.crc32(("v2:" + text).encode("utf-8")) % 100


def split_of(item: Item) -> str:
    if item.fact in HELDOUT_FACTS:
        return "validation" if _bucket(item.target) % 2 == 0 else "test"
    b = _bucket(item.thing if item.intent == "oow" else item.target)
    return "train" if b < TRAIN_PERCENT else "validation" if b < TRAIN_PERCENT + VAL_PERCENT else "test"


def all_items() -> list[Item]:
    out: list[Item] = []
    for colour in W.COLOURS:
        for kind in W.KINDS:
            for n in range(W.MAX_COUNT + 1):
                out.append(Item("direct", n, 0, colour, kind))
            for a in range(1, W.MAX_COUNT + 1):
                for b in range(1, W.MAX_COUNT + 1):
                    if a + b <= W.MAX_COUNT:
                        out.append(Item("add", a, b, colour, kind))
                    if b <= a:
                        out.append(Item("sub", a, b, colour, kind))
                    if a != b:
                        out.append(Item("larger", a, b, colour, kind))
                        out.append(Item("smaller", a, b, colour, kind))
    for (c1, c2), mixed in W.MIXES.items():
        for first, second in ((c1, c2), (c2, c1)):
            for kind in W.KINDS:
                for n in range(1, W.MAX_COUNT + 1):
                    out.append(Item("mix", n, 0, mixed, kind, (first, second)))
    for fam, things in THINGS.items():
        out += [Item("oow", thing=t, oow_family=fam) for t in things]
    for c in W.COLOURS:
        for s in OTHER_SHAPES:
            out.append(Item("oow", thing=f"{c} {s}", oow_family="ow_other_shape"))
    for c in OTHER_COLOURS:
        for k in W.KINDS:
            out.append(Item("oow", thing=f"{c} {W.PLURAL[k]}", oow_family="ow_other_colour"))
    for n in range(10, 21):
        for c in W.COLOURS:
            out.append(Item("oow", n, thing=f"{n} {c}", oow_family="ow_too_many"))
    out += [Item("oow", thing=t, oow_family="ow_empty") for t in EMPTYISH]
    return out


# --------------------------------------------------------------------------------------------- surfaces
@dataclass(frozen=True)
class Surface:
    verb: int  # index into VERBS
    words: bool  # numbers as words
    op: int  # 0: "plus"/"minus", 1: "2+3", 2: "2 + 3"
    capital: bool
    end: str  # "", ".", "!" ("?" for questions)
    spaces: int  # 0 none, 1 a doubled space, 2 a trailing space, 3 a leading space


# (frame, is_question): "{V}" is replaced by the request body
VERBS = [
    ("draw {}", False), ("paint {}", False), ("show {}", False), ("make {}", False), ("sketch {}", False),
    ("give me {}", False), ("show me {}", False), ("please draw {}", False), ("I want {}", False),
    ("I would like {}", False), ("can you draw {}", True), ("could you paint {}", True), ("can you show me {}", True),
]


def random_surface(rng: random.Random) -> Surface:
    return Surface(rng.randrange(len(VERBS)), rng.random() < 0.3, rng.choice((0, 0, 1, 2)), rng.random() < 0.4,
                   rng.choice(("", "", ".", ".", "!")), rng.choice((0, 0, 0, 0, 1, 2, 3)))


def num(x: int, s: Surface) -> str:
    return W.NUMBER_WORDS[x] if s.words else str(x)


def op(a: int, b: int, sym: str, word: str, s: Surface) -> str:
    if s.op == 0 or s.words:
        return f"{num(a, s)} {word} {num(b, s)}"
    return f"{a}{sym}{b}" if s.op == 1 else f"{a} {sym} {b}"


def frame(body: str, s: Surface) -> tuple[str, bool]:
    f, q = VERBS[s.verb]
    return f.format(body), q


# --------------------------------------------------------------------------------------------- template families
def _f(intent, marker, heldout=False):
    def deco(fn):
        FAMILIES[fn.__name__] = Family(fn.__name__, intent, marker, heldout, fn)
        return fn

    return deco


@dataclass(frozen=True)
class Family:
    name: str
    intent: str
    marker: str  # held-out families: a phrase no training prompt contains (tested); others ""
    heldout: bool
    fn: object


FAMILIES: dict[str, Family] = {}


def _pl(it: Item) -> str:
    return W.PLURAL[it.kind]


@_f("direct", "")
def direct_plain(it, s, name):
    return frame(f"{num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)}", s)


@_f("direct", "")
def direct_of_them(it, s, name):
    return frame(f"{it.colour} {_pl(it)}, {num(it.a, s)} of them", s)


@_f("direct", "")
def direct_caption(it, s, name):
    """The bare caption, as an answer is written (what cascade thinking sends back through the reasoner)."""
    return f"{num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)}", False


@_f("direct", "")
def direct_coloured(it, s, name):
    return frame(f"{num(it.a, s)} {W.noun(it.kind, it.a)} coloured {it.colour}", s)


@_f("direct", "a picture of", heldout=True)
def direct_picture(it, s, name):
    return f"a picture of {num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)}, please", False


@_f("add", "")
def add_as_many(it, s, name):
    return frame(f"as many {it.colour} {_pl(it)} as {op(it.a, it.b, '+', 'plus', s)}", s)


@_f("add", "")
def add_count(it, s, name):
    return frame(f"{op(it.a, it.b, '+', 'plus', s)} {it.colour} {_pl(it)}", s)


@_f("add", "")
def add_word(it, s, name):
    v, q = frame("them all", s)
    return f"{name} has {num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)} and gets {num(it.b, s)} more. {v}", q


@_f("add", "")
def add_i_have(it, s, name):
    v, q = frame("all of them", s)
    return f"I have {num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)} and I get {num(it.b, s)} more. {v}", q


@_f("add", "")
def add_and_more(it, s, name):
    return frame(f"{num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)} and {num(it.b, s)} more", s)


@_f("add", "")
def add_what_is(it, s, name):
    v, q = frame(f"that many {it.colour} {_pl(it)}", s)
    return f"what is {op(it.a, it.b, '+', 'plus', s)}? {v}", q


@_f("add", "the sum of", heldout=True)
def add_sum_of(it, s, name):
    return frame(f"the sum of {num(it.a, s)} and {num(it.b, s)} {it.colour} {_pl(it)}", s)


@_f("sub", "")
def sub_minus(it, s, name):
    return frame(f"{op(it.a, it.b, '-', 'minus', s)} {it.colour} {_pl(it)}", s)


@_f("sub", "")
def sub_roll_away(it, s, name):
    v, q = frame("the ones left", s)
    return f"there are {num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)} and {num(it.b, s)} roll away. {v}", q


@_f("sub", "")
def sub_give_away(it, s, name):
    v, q = frame("the rest", s)
    return f"I have {num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)} and give away {num(it.b, s)}. {v}", q


@_f("sub", "")
def sub_take_away(it, s, name):
    return frame(f"{num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)} take away {num(it.b, s)}", s)


@_f("sub", "")
def sub_name_loses(it, s, name):
    v, q = frame(f"what {name} still has", s)
    return f"{name} has {num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)} and loses {num(it.b, s)}. {v}", q


@_f("sub", "")
def sub_without(it, s, name):
    return frame(f"{num(it.a, s)} {it.colour} {W.noun(it.kind, it.a)} without {num(it.b, s)} of them", s)


@_f("sub", "")
def sub_what_is(it, s, name):
    v, q = frame(f"that many {it.colour} {_pl(it)}", s)
    return f"what is {op(it.a, it.b, '-', 'minus', s)}? {v}", q


@_f("sub", " fewer ", heldout=True)
def sub_fewer(it, s, name):
    return frame(f"{num(it.b, s)} fewer {it.colour} {_pl(it)} than {num(it.a, s)}", s)


@_f("larger", "")
def larger_of(it, s, name):
    return frame(f"the larger of {num(it.a, s)} and {num(it.b, s)} {it.colour} {_pl(it)}", s)


@_f("larger", "")
def larger_q(it, s, name):
    v, q = frame(f"that many {it.colour} {_pl(it)}", s)
    return f"which is more, {num(it.a, s)} or {num(it.b, s)}? {v}", q


@_f("larger", "")
def larger_whichever(it, s, name):
    v, q = frame(f"that many {it.colour} {_pl(it)}", s)
    return f"{num(it.a, s)} or {num(it.b, s)}, whichever is larger: {v}", q


@_f("larger", "bigger number", heldout=True)
def larger_bigger_number(it, s, name):
    return frame(f"{it.colour} {_pl(it)}, as many as the bigger number of {num(it.a, s)} and {num(it.b, s)}", s)


@_f("smaller", "")
def smaller_of(it, s, name):
    return frame(f"the smaller of {num(it.a, s)} and {num(it.b, s)} {it.colour} {_pl(it)}", s)


@_f("smaller", "")
def smaller_q(it, s, name):
    v, q = frame(f"that many {it.colour} {_pl(it)}", s)
    return f"which is less, {num(it.a, s)} or {num(it.b, s)}? {v}", q


@_f("smaller", "")
def smaller_whichever(it, s, name):
    v, q = frame(f"that many {it.colour} {_pl(it)}", s)
    return f"{num(it.a, s)} or {num(it.b, s)}, whichever is smaller: {v}", q


@_f("smaller", "lower number", heldout=True)
def smaller_lower_number(it, s, name):
    return frame(f"{it.colour} {_pl(it)}, as many as the lower number of {num(it.a, s)} and {num(it.b, s)}", s)


@_f("mix", "")
def mix_you_get(it, s, name):
    return frame(f"{num(it.a, s)} {W.noun(it.kind, it.a)} in the colour you get mixing {it.mix[0]} and {it.mix[1]}", s)


@_f("mix", "")
def mix_made_by(it, s, name):
    return frame(f"{num(it.a, s)} {W.noun(it.kind, it.a)} in the colour made by mixing {it.mix[0]} and {it.mix[1]}", s)


@_f("mix", "")
def mix_gives(it, s, name):
    return frame(f"{num(it.a, s)} {W.noun(it.kind, it.a)} whose colour is what mixing {it.mix[0]} and {it.mix[1]} "
                 f"gives", s)


@_f("mix", "in that colour", heldout=True)
def mix_then(it, s, name):
    v, q = frame(f"{num(it.a, s)} {W.noun(it.kind, it.a)} in that colour", s)
    return f"mix {it.mix[0]} with {it.mix[1]} and {v}", q


# A grammar of requests: one family per intent (but mixing and out of world) whose prompts are put together from a frame and a phrase
# for the number, both picked by a hash of the item and surface (so a prompt is fixed by them, as in the other
# families). It adds ways to say the same request that no hand-written family has; none is a held-out family's
# phrasing with a word swapped (no "the total of a and b", no "fewer"/"less ... than", no "as many as the ... number
# of", no "a picture of").
COMPOSED_FRAMES = ["{X} {C} {K}", "{C} {K}, {X} of them", "{C} {K} numbering {X}", "{C} {K}. the count: {X}",
                   "a group of {X} {C} {K}"]
COMPOSED_NUMBERS = {
    "direct": ["{n}"],
    "add": ["{op}", "{a} and {b} more", "{a} with {b} added", "{a} increased by {b}"],
    "sub": ["{op}", "{a} take away {b}", "{a} without {b}", "{a} with {b} removed", "{a} decreased by {b}"],
    "larger": ["the larger of {a} and {b}", "the max of {a} and {b}", "whichever is larger of {a} and {b}"],
    "smaller": ["the smaller of {a} and {b}", "the min of {a} and {b}", "whichever is smaller of {a} and {b}"],
}


def _hash_pick(options: list, it: Item, s: Surface, tag: str):
    return options[zlib.crc32(f"{tag}|{it}|{s}".encode("utf-8")) % len(options)]


def _composed(it: Item, s: Surface) -> tuple[str, bool]:
    sym, word = {"add": ("+", "plus"), "sub": ("-", "minus")}.get(it.intent, ("", ""))
    x = _hash_pick(COMPOSED_NUMBERS[it.intent], it, s, "number").format(
        a=num(it.a, s), b=num(it.b, s), n=num(it.a, s), op=op(it.a, it.b, sym, word, s) if sym else "")
    body = _hash_pick(COMPOSED_FRAMES, it, s, "frame").format(X=x, C=it.colour, K=_pl(it))
    return frame(body, s)


def _composed_family(it, s, name):
    return _composed(it, s)


for _intent in COMPOSED_NUMBERS:  # one family each: direct_composed, add_composed, ... (registered in this order)
    FAMILIES[f"{_intent}_composed"] = Family(f"{_intent}_composed", _intent, "", False, _composed_family)


@_f("oow", "")
def ow_thing(it, s, name):
    if it.oow_family == "ow_too_many":
        return frame(f"{it.a} {it.thing.split(' ', 1)[1]} {W.PLURAL[('circle', 'square', 'triangle')[it.a % 3]]}", s)
    if it.oow_family == "ow_other_shape":
        c, shape = it.thing.split(" ", 1)
        return frame(f"{num(2 + len(it.thing) % 7, s)} {c} {shape}", s)
    if it.oow_family == "ow_other_colour":
        return frame(f"{num(1 + len(it.thing) % 8, s)} {it.thing}", s)
    if it.oow_family == "ow_empty":
        return it.thing, it.thing.endswith("?")
    return frame(it.thing, s)


@_f("oow", "a picture of", heldout=True)
def ow_picture_of(it, s, name):
    return f"a picture of {it.thing}, please", False


INTENTS = ("direct", "add", "sub", "larger", "smaller", "mix", "oow")
ARITHMETIC = ("add", "sub", "larger", "smaller")
HELDOUT_FAMILIES = tuple(f.name for f in FAMILIES.values() if f.heldout)
# out-of-world things in this family are never trained in any phrasing
HELDOUT_OOW_FAMILY = "ow_scene"


def families_for(intent: str, heldout: bool) -> list[str]:
    return [f.name for f in FAMILIES.values() if f.intent == intent and f.heldout == heldout]


def name_for(family: str, it: Item, s: Surface, salt: int = 0) -> str:
    """A name from a hash of the whole phrasing, so knowing it says nothing about the sum."""
    key = f"{family}|{it}|{s}|{salt}"
    return NAMES[zlib.crc32(key.encode("utf-8")) % len(NAMES)]


def dress(text: str, question: bool, s: Surface) -> str:
    """The surface: capital, end punctuation, odd spaces. Empty-ish prompts stay as typed."""
    if not text.strip() or len(text.strip()) <= 3:
        return text
    if s.capital:
        text = text[0].upper() + text[1:]
    text = text + ("?" if question else s.end)
    if s.spaces == 1 and " " in text:
        i = text.index(" ", len(text) // 2) if " " in text[len(text) // 2 :] else text.index(" ")
        text = text[:i] + " " + text[i:]
    elif s.spaces == 2:
        text = text + " "
    elif s.spaces == 3:
        text = " " + text
    return text


# --------------------------------------------------------------------------------------------- prompts
@dataclass(frozen=True)
class Prompt:
    template: str  # the family
    intent: str
    prompt: str
    think: str
    answer: str
    n: int
    colour: str | None
    kind: str | None
    split: str
    category: str  # train | instances | templates | facts | mixing | direct | out_of_world
    item: Item

    @property
    def target(self) -> str:
        return f"<think>{self.think}</think><answer>{self.answer}</answer>"

    @property
    def arithmetic(self) -> bool:
        return self.intent in ARITHMETIC


def phrase(family: str, it: Item, s: Surface, split: str, category: str, salt: int = 0) -> Prompt:
    text, q = FAMILIES[family].fn(it, s, name_for(family, it, s, salt))
    return Prompt(family, it.intent, dress(text, q, s), it.think, it.answer, it.n, it.colour, it.kind, split, category, it)


def _category(it: Item) -> str:
    if it.intent == "oow":
        return "out_of_world"
    if it.fact in HELDOUT_FACTS:
        return "facts"
    if it.intent == "mix":
        return "mixing"
    if it.intent == "direct":
        return "direct"
    return "instances"


def _trainable(it: Item) -> bool:
    return split_of(it) == "train" and not (it.intent == "oow" and it.oow_family == HELDOUT_OOW_FAMILY)


# random surfaces per (item, training family) at scale 1: evens out the intents (comparisons have many items, out-of-
# world few), about 2000-4000 prompts each
SURFACES_PER_FAMILY = {"direct": 8, "add": 2, "sub": 1, "larger": 1, "smaller": 1, "mix": 6, "oow": 10}


def train_prompts(scale: int = 1, seed: int = 0) -> list[Prompt]:
    """Training prompts: every training item in every training family of its intent, with
    scale * SURFACES_PER_FAMILY[intent] random surfaces each (seeded)."""
    rng = random.Random(seed)
    out = []
    for it in all_items():
        if not _trainable(it):
            continue
        for fam in families_for(it.intent, False):
            for k in range(scale * SURFACES_PER_FAMILY[it.intent]):
                out.append(phrase(fam, it, random_surface(rng), "train", "train", k))
    return out


def sample_train(rng: random.Random) -> Prompt:
    """One training prompt with a fresh surface: an intent (uniform), an item of it, one of its training families."""
    items = _trainable_by_intent()[rng.choice(INTENTS)]
    it = rng.choice(items)
    fam = rng.choice(families_for(it.intent, False))
    return phrase(fam, it, random_surface(rng), "train", "train", rng.randrange(1 << 30))


_BY_INTENT: dict | None = None


def _trainable_by_intent() -> dict[str, list[Item]]:
    global _BY_INTENT
    if _BY_INTENT is None:
        _BY_INTENT = {i: [it for it in trainable_items() if it.intent == i] for i in INTENTS}
    return _BY_INTENT


def trainable_items() -> list[Item]:
    return [it for it in all_items() if _trainable(it)]


def eval_prompts(split: str) -> dict[str, list[Prompt]]:
    """The fixed evaluation sets of `split` (validation or test), by category:
      instances: held-out items (new reasoning targets, known facts) of arithmetic intents in training families;
      templates: the same kind of items (every intent but out-of-world) in held-out families;
      facts:     items with a held-out fact, in training families;
      mixing:    held-out colour-mixing items in training families;
      direct:    held-out direct requests in training families;
      out_of_world: out-of-world items of the split (held-out things, and every scene of the held-out family),
                 in training families and the held-out family.
    Each prompt's family and surface come from a seeded stream, so the sets are fixed."""
    assert split in ("validation", "test"), split
    rng = random.Random(f"eval-{split}")
    out: dict[str, list[Prompt]] = {k: [] for k in ("instances", "templates", "facts", "mixing", "direct", "out_of_world")}
    for it in all_items():
        sp = split_of(it)
        if it.intent == "oow":
            held_family = it.oow_family == HELDOUT_OOW_FAMILY
            if sp == split or (held_family and sp == "train" and _bucket("oow-split:" + it.thing) % 2 == (split == "test")):
                fams = ["ow_thing", "ow_picture_of"] if it.oow_family in THINGS else ["ow_thing"]
                out["out_of_world"].append(phrase(rng.choice(fams), it, random_surface(rng), split, "out_of_world"))
            continue
        if sp != split:
            continue
        cat = _category(it)
        out[cat].append(phrase(rng.choice(families_for(it.intent, False)), it, random_surface(rng), split, cat))
        if cat != "facts":
            out["templates"].append(phrase(rng.choice(families_for(it.intent, True)), it, random_surface(rng), split,
                                           "templates"))
    return out


# --------------------------------------------------------------------------------------------- understanding
def _scene_key(objs) -> frozenset:
    return frozenset(objs)


_HELD_SCENES: set | None = None


def held_scene_keys() -> set:
    global _HELD_SCENES
    if _HELD_SCENES is None:
        _HELD_SCENES = {_scene_key(W.mixed_scene(s)[1]) for s in list(UNDERSTAND_VAL_SEEDS) + list(UNDERSTAND_TEST_SEEDS)}
    return _HELD_SCENES


def _random_scene(rng: random.Random):
    """Stage 0's random scene (v1's draw, in the same order of rng calls): one kind and colour, or a mixed scene."""
    if rng.random() < 0.5:
        n = rng.randint(0, W.MAX_COUNT)
        return W.scene(n, rng.choice(W.COLOURS), rng.choice(W.KINDS), rng.randrange(1 << 30),
                       rng.choice(["ordered", "random"]))
    return W.mixed_scene(rng.randrange(1 << 30))


def train_scene(rng: random.Random):
    """A random understanding scene (as stage 0 draws them) that is not a validation or test image."""
    while True:
        img, objs = _random_scene(rng)
        if _scene_key(objs) not in held_scene_keys():
            return img, objs


def text_facts() -> list[tuple[str, str]]:
    """Plain knowledge, held-out facts included (knowledge, not drawing requests): v1's questions and answers, and
    the same facts as statements in the notation the reasoning uses ("what is 2 + 3?" -> "2 + 3 = 5", "compare 2
    and 5" -> "5 is larger than 2"), as a real VLM knows its arithmetic in symbols as well as in words."""
    out = list(W.text_facts())
    for a in range(0, 10):
        for b in range(0, 10):
            if a + b <= W.MAX_COUNT:
                out.append((f"what is {a} + {b}?", f"{a} + {b} = {a + b}"))
            if b <= a:
                out.append((f"what is {a} - {b}?", f"{a} - {b} = {a - b}"))
            if a != b:
                hi, lo = max(a, b), min(a, b)
                out.append((f"compare {a} and {b}: which is larger?", f"{hi} is larger than {lo}"))
                out.append((f"compare {a} and {b}: which is smaller?", f"{lo} is smaller than {hi}"))
    return out


def fact_list(rng: random.Random, k: int = 4) -> tuple[str, str]:
    """A plain-text question whose answer lists k facts in the reasoning's notation, one after another ("some sums,
    please" -> "2 + 3 = 5, 6 - 1 = 5, 7 is larger than 2, ..."): the facts said with no question to copy from, as
    they are said inside a chain of thought. Held-out facts included (knowledge, not drawing requests)."""
    facts = [a for q, a in text_facts() if (" = " in a or " than " in a)]
    picked = [rng.choice(facts) for _ in range(k)]
    q = rng.choice(["some sums, please", "tell me a few facts about numbers", "say some arithmetic facts",
                    "what do you know about numbers?"])
    return q, ", ".join(picked)


# Arithmetic questions answered with a chain of thought in the drawing reasoning's notation ("what is one plus
# four?" -> "<think>1 + 4 = 5</think><answer>5</answer>"): plain knowledge, as a real VLM answers arithmetic when
# asked to think, held-out facts included. They ask for no picture (no colour, no shape, no instruction prefix) and
# carry no held-out family's marker (test_world_v2 checks both).
# The questions use more words than the drawing families do (sum, total, bigger, greater, higher, lower, least, ...):
# a VLM knows such words from its language data, and the miniature's only language data is its training. Never a
# held-out family's phrasing (its marker).
SUM_QUESTIONS = ["what is {a} plus {b}?", "what is {a} + {b}?", "{a}+{b}=?", "how much is {a} plus {b}?",
                 "add {a} and {b}", "{a} plus {b} makes what?", "what do {a} and {b} sum to?", "sum up {a} and {b}",
                 "{a} and {b} in total?", "what is the total of {a} and {b}?", "add {b} to {a}",
                 "{a} and {b} together make what?"]
DIFF_QUESTIONS = ["what is {a} minus {b}?", "what is {a} - {b}?", "{a}-{b}=?", "how much is {a} minus {b}?",
                  "take {b} from {a}", "{a} minus {b} makes what?", "what is left when {b} is taken from {a}?",
                  "subtract {b} from {a}", "{a} take away {b} leaves what?", "what is {a} less {b}?"]
CMP_QUESTIONS = {"larger": ["which is larger, {a} or {b}?", "which is more, {a} or {b}?", "{a} or {b}: which is larger?",
                            "which is bigger, {a} or {b}?", "which is greater, {a} or {b}?",
                            "which is higher, {a} or {b}?", "{a} or {b}: which is the most?",
                            "which of {a} and {b} is bigger?"],
                 "smaller": ["which is smaller, {a} or {b}?", "which is less, {a} or {b}?",
                             "{a} or {b}: which is smaller?", "which is lower, {a} or {b}?",
                             "which is lesser, {a} or {b}?", "{a} or {b}: which is the least?",
                             "which of {a} and {b} is lower?", "which is littler, {a} or {b}?"]}


# An experiment, off in every shipped run (stage_edit --held_out_words): the question whether the held-out families
# would work if their words were known as plain text, the way "sum", "bigger" and "lower" are. These questions carry
# held-out families' markers ("the sum of", " fewer ", " extra") and words ("mix ... with", "that colour"), so a reasoner
# trained with them is no longer evaluated on held-out templates in the sense; its figures answer only that
# question (tools/README.md, "Why the held-out templates stop near 65 %").
HELD_OUT_WORD_QUESTIONS = {
    "sum": ["what is the sum of {a} and {b}?", "{a} and {b} extra makes what?", "what is {a} with {b} extra?"],
    "diff": ["what is {b} fewer than {a}?", "{b} fewer than {a} is what?"],
    "mix": ["what colour do you get if you mix {x} with {y}?", "mix {x} with {y}: what is that colour?"],
}


def reasoning_fact(rng: random.Random, held_out_words: bool = False) -> tuple[str, str]:
    """(question, target) of one arithmetic question answered with a chain of thought; any fact, any surface.
    held_out_words: a third of the questions are HELD_OUT_WORD_QUESTIONS (the experiment above; never shipped)."""
    if held_out_words and rng.random() < 1 / 3:
        return _held_out_word_question(rng)
    s = random_surface(rng)
    kind = rng.choice(("sum", "diff", "cmp"))
    if kind == "cmp":
        a, b = rng.sample(range(W.MAX_COUNT + 1), 2)
        rel = rng.choice(("larger", "smaller"))
        hi, lo = max(a, b), min(a, b)
        think = f"{hi} is larger than {lo}" if rel == "larger" else f"{lo} is smaller than {hi}"
        q, res = rng.choice(CMP_QUESTIONS[rel]), (hi if rel == "larger" else lo)
    else:
        a, b, res, think = _sum_or_difference(rng, kind)
        q = rng.choice(SUM_QUESTIONS if kind == "sum" else DIFF_QUESTIONS)
    return _question(q.format(a=num(a, s), b=num(b, s)), s, think, res)


def _sum_or_difference(rng: random.Random, kind: str) -> tuple[int, int, int, str]:
    """(a, b, result, thinking) of a random sum or difference within the world's counts."""
    a = rng.randint(0, W.MAX_COUNT)
    b = rng.randint(0, W.MAX_COUNT - a) if kind == "sum" else rng.randint(0, a)
    res = a + b if kind == "sum" else a - b
    return a, b, res, f"{a} {'+' if kind == 'sum' else '-'} {b} = {res}"


def _question(text: str, s: Surface, think: str, res) -> tuple[str, str]:
    """A plain question dressed in the surface (no final stop after a question mark) and its CoT target."""
    return dress(text, False, Surface(0, s.words, 0, s.capital, "" if text.endswith("?") else s.end, s.spaces)), \
        f"<think>{think}</think><answer>{res}</answer>"


def _held_out_word_question(rng: random.Random) -> tuple[str, str]:
    s = random_surface(rng)
    kind = rng.choice(("sum", "diff", "mix"))
    if kind == "mix":
        (x, y), c = rng.choice(list(W.MIXES.items()))
        x, y = (x, y) if rng.random() < 0.5 else (y, x)
        think, res, text = f"{x} and {y} make {c}", c, rng.choice(HELD_OUT_WORD_QUESTIONS["mix"]).format(x=x, y=y)
    else:
        a, b, res, think = _sum_or_difference(rng, kind)
        text = rng.choice(HELD_OUT_WORD_QUESTIONS[kind]).format(a=num(a, s), b=num(b, s))
    return _question(text, s, think, res)


def split_prompts(scale: int = 1) -> tuple[list[Prompt], list[Prompt]]:
    """(training prompts, every validation evaluation prompt): the shape of v1's split_prompts for the stages."""
    val = eval_prompts("validation")
    return train_prompts(scale), [p for ps in val.values() for p in ps]


def sizes() -> dict:
    items = all_items()
    by_split = {s: sum(split_of(it) == s for it in items) for s in SPLITS}
    tr = train_prompts()
    ev = {s: {k: len(v) for k, v in eval_prompts(s).items()} for s in ("validation", "test")}
    return {"items": len(items), "items_by_split": by_split, "train_prompts_scale_1": len(tr),
            "train_prompts_by_intent": {i: sum(p.intent == i for p in tr) for i in INTENTS},
            "train_items": len(trainable_items()), "eval": ev}


# --------------------------------------------------------------------------------------------- for the stages
def world_split(version: str) -> tuple[list, list]:
    """(training prompts, held-out prompts for progress checks) of world v1 or v2: the stages' --world flag. v2's
    held-out prompts are its validation split (the test split is for the final evaluation only)."""
    if version == "v1":
        return W.split_prompts()
    if version != "v2":
        raise ValueError(f"unknown world {version!r} (v1 or v2)")
    return split_prompts(scale=2)


def paint_key(p) -> tuple[int, str, str]:
    """(n, colour, kind) of the picture the painter should paint: out-of-world -> the empty canvas (any caption
    with n = 0 renders it)."""
    return (0, W.COLOURS[0], W.KINDS[0]) if p.colour is None else (p.n, p.colour, p.kind)


def understanding_scene(version: str, rng: random.Random):
    """Stage 0's random scene: v2 never draws a validation or test image."""
    return train_scene(rng) if version == "v2" else _random_scene(rng)


# --------------------------------------------------------------------------------------------- edit
# An edit task: an image of n shapes of one colour and kind (laid out as the painter paints them: the first n cells)
# and an instruction that changes one thing. The reasoner reads the picture, says what it sees and what changes, and
# answers with the caption of the result, which the painter paints. Splits as the drawing items': by crc32 of the
# whole task (80 / 10 / 10), and held-out instruction families phrase validation and test tasks only.
EDIT_OPS = ("recolour", "add", "remove", "reshape")


@dataclass(frozen=True)
class EditItem:
    op: str  # EDIT_OPS
    n: int  # what the picture shows
    colour: str
    kind: str
    arg: int | str  # recolour: the new colour; add / remove: how many; reshape: the new kind

    @property
    def result(self) -> tuple[int, str, str]:
        if self.op == "recolour":
            return self.n, str(self.arg), self.kind
        if self.op == "add":
            return self.n + int(self.arg), self.colour, self.kind
        if self.op == "remove":
            return self.n - int(self.arg), self.colour, self.kind
        return self.n, self.colour, str(self.arg)

    @property
    def think(self) -> str:
        n2, c2, k2 = self.result
        seen = f"the picture shows {W.caption(self.n, self.colour, self.kind)}"
        change = {"recolour": f"they turn {self.arg}", "add": f"{self.n} + {self.arg} = {n2}",
                  "remove": f"{self.n} - {self.arg} = {n2}", "reshape": f"they turn into {W.PLURAL[k2]}"}[self.op]
        return f"{seen}; {change}, so {W.NUMBER_WORDS[n2]} {c2} {W.noun(k2, n2)}"

    @property
    def answer(self) -> str:
        return W.caption(*self.result)

    @property
    def target(self) -> str:
        return f"<think>{self.think}</think><answer>{self.answer}</answer>"


def all_edit_items() -> list[EditItem]:
    out = []
    for colour in W.COLOURS:
        for kind in W.KINDS:
            for n in range(1, W.MAX_COUNT + 1):
                out += [EditItem("recolour", n, colour, kind, c) for c in W.COLOURS if c != colour]
                out += [EditItem("reshape", n, colour, kind, k) for k in W.KINDS if k != kind]
                out += [EditItem("add", n, colour, kind, k) for k in range(1, W.MAX_COUNT - n + 1)]
                out += [EditItem("remove", n, colour, kind, k) for k in range(1, n + 1)]
    return out


def edit_fact(it: EditItem) -> tuple | None:
    """The addition fact an add / remove task rests on, as Item.fact writes it."""
    if it.op == "add":
        return ("sum", min(it.n, int(it.arg)), max(it.n, int(it.arg)))
    if it.op == "remove":
        return ("sum", min(int(it.arg), it.n - int(it.arg)), max(int(it.arg), it.n - int(it.arg)))
    return None


def edit_split(it: EditItem) -> str:
    """As split_of: a task resting on a held-out fact is never trained (half validation, half test)."""
    if edit_fact(it) in HELDOUT_FACTS:
        return "validation" if _bucket(it.target) % 2 == 0 else "test"
    b = _bucket(f"edit:{it.op}:{it.n}:{it.colour}:{it.kind}:{it.arg}")
    return "train" if b < TRAIN_PERCENT else "validation" if b < TRAIN_PERCENT + VAL_PERCENT else "test"


@dataclass(frozen=True)
class EditFamily:
    name: str
    op: str
    marker: str  # held-out families: a phrase no training instruction contains (tested)
    heldout: bool
    text: str  # {K} how many (a word or digits), {c} the new colour, {shapes} the picture's kind (plural),
    #            {kshapes} its kind for K, {new} the new kind (plural)


EDIT_FAMILIES = [
    EditFamily("ed_make_colour", "recolour", "", False, "make the {shapes} {c}"),
    EditFamily("ed_them_colour", "recolour", "", False, "make them {c}"),
    EditFamily("ed_colour_them", "recolour", "", False, "colour them {c}"),
    EditFamily("ed_change_colour", "recolour", "", False, "change their colour to {c}"),
    EditFamily("ed_turn_colour", "recolour", "", False, "turn them {c}"),
    EditFamily("ed_paint_all", "recolour", "paint them all", True, "paint them all {c} instead"),
    EditFamily("ed_add_more", "add", "", False, "add {K} more"),
    EditFamily("ed_add_shapes", "add", "", False, "add {K} more {kshapes}"),
    EditFamily("ed_put_in", "add", "", False, "put in {K} more"),
    EditFamily("ed_more_please", "add", "", False, "{K} more {kshapes}, please"),
    EditFamily("ed_extra", "add", " extra", True, "I want {K} extra"),
    EditFamily("ed_take_away", "remove", "", False, "take {K} away"),
    EditFamily("ed_remove_of", "remove", "", False, "remove {K} of them"),
    EditFamily("ed_take_away_shapes", "remove", "", False, "take away {K} {kshapes}"),
    EditFamily("ed_remove", "remove", "", False, "remove {K}"),
    EditFamily("ed_get_rid", "remove", "get rid of", True, "get rid of {K} of the {shapes}"),
    EditFamily("ed_turn_into", "reshape", "", False, "turn them into {new}"),
    EditFamily("ed_make_kind", "reshape", "", False, "make them {new}"),
    EditFamily("ed_change_to", "reshape", "", False, "change the {shapes} to {new}"),
    EditFamily("ed_instead", "reshape", "", False, "{new} instead of {shapes}"),
    EditFamily("ed_replace", "reshape", "replace", True, "replace the {shapes} with {new}"),
]
EDIT_FAMILY = {f.name: f for f in EDIT_FAMILIES}


@dataclass(frozen=True)
class EditPrompt:
    template: str
    op: str
    instruction: str
    think: str
    answer: str
    n: int  # the result's
    colour: str
    kind: str
    split: str
    category: str  # train | edit_instances | edit_templates
    item: EditItem

    @property
    def target(self) -> str:
        return f"<think>{self.think}</think><answer>{self.answer}</answer>"

    def image(self, seed: int):
        """The picture to edit: the item's shapes in the first n cells, jittered by `seed` (uint8 [64, 64, 3])."""
        return W.scene(self.item.n, self.item.colour, self.item.kind, seed, "ordered")[0]


def edit_families(op: str, heldout: bool) -> list[EditFamily]:
    return [f for f in EDIT_FAMILIES if f.op == op and f.heldout == heldout]


def phrase_edit(fam: EditFamily, it: EditItem, s: Surface, split: str, category: str) -> EditPrompt:
    k = it.arg if it.op in ("add", "remove") else 0
    body = fam.text.format(K=num(int(k), s), c=it.arg, shapes=W.PLURAL[it.kind], kshapes=W.noun(it.kind, int(k)),
                           new=W.PLURAL[str(it.arg)] if it.op == "reshape" else "")
    # a plain instruction surface: capital, end punctuation, odd spaces (no verb frame: the instruction is the verb)
    text = dress(body, False, Surface(0, s.words, 0, s.capital, s.end, s.spaces))
    n2, c2, k2 = it.result
    return EditPrompt(fam.name, it.op, text, it.think, it.answer, n2, c2, k2, split, category, it)


def edit_train_items() -> list[EditItem]:
    return [it for it in all_edit_items() if edit_split(it) == "train"]


def sample_edit_train(rng: random.Random) -> tuple[EditPrompt, int]:
    """A training edit task (op uniform, then an item, a training family, a fresh surface) and its image seed."""
    by_op = _edit_train_by_op()
    it = rng.choice(by_op[rng.choice(EDIT_OPS)])
    fam = rng.choice(edit_families(it.op, False))
    return phrase_edit(fam, it, random_surface(rng), "train", "train"), rng.randrange(1 << 30)


_EDIT_BY_OP: dict | None = None


def _edit_train_by_op() -> dict[str, list[EditItem]]:
    global _EDIT_BY_OP
    if _EDIT_BY_OP is None:
        tr = edit_train_items()
        _EDIT_BY_OP = {o: [it for it in tr if it.op == o] for o in EDIT_OPS}
    return _EDIT_BY_OP


EDIT_SEED_BASE = {"validation": 30_000_000, "test": 40_000_000}


def edit_eval_prompts(split: str) -> dict[str, list[tuple[EditPrompt, int]]]:
    """(prompt, image seed) of `split`, as the drawing columns: edit_instances (held-out tasks on known facts, in
    training families), edit_templates (the same tasks in held-out families) and edit_facts (tasks resting on a
    held-out fact, in training families). Fixed by a seeded stream."""
    assert split in ("validation", "test"), split
    rng = random.Random(f"edit-eval-{split}")
    out: dict[str, list] = {"edit_instances": [], "edit_templates": [], "edit_facts": []}
    for i, it in enumerate(it for it in all_edit_items() if edit_split(it) == split):
        seed = EDIT_SEED_BASE[split] + i
        held_fact = edit_fact(it) in HELDOUT_FACTS
        key = "edit_facts" if held_fact else "edit_instances"
        out[key].append((phrase_edit(rng.choice(edit_families(it.op, False)), it, random_surface(rng), split, key),
                         seed))
        if not held_fact:
            out["edit_templates"].append((phrase_edit(rng.choice(edit_families(it.op, True)), it,
                                                      random_surface(rng), split, "edit_templates"), seed))
    return out


def training_word_counts(words: list[str], n: int = 20_000) -> dict[str, dict[str, tuple[int, int]]]:
    """{word: {source: (texts containing it as a whole word, texts)}} over the prompts the reasoner is trained on (its
    input side; targets are not counted, text facts count question and answer): every drawing request (scale 1), the
    text facts and n fact lists, n arithmetic questions, n edit instructions and the questions about n / 10 pictures
    (sampled as training samples them). Which words of the held-out families the miniature could know at all: it has
    no language but its training."""
    rng = random.Random(0)
    src = {"drawing requests": [p.prompt for p in train_prompts()],
           "arithmetic questions": [reasoning_fact(rng)[0] for _ in range(n)],
           "text facts": [q + " " + a for q, a in text_facts()] + [" ".join(fact_list(rng)) for _ in range(n)],
           "edit instructions": [sample_edit_train(rng)[0].instruction for _ in range(n)],
           "questions about pictures": [q for _ in range(n // 10) for q, _ in W.questions_for(train_scene(rng)[1])]}
    out = {}
    for w in words:
        pat = re.compile(r"\b" + re.escape(w) + r"\b", re.I)
        out[w] = {k: (sum(bool(pat.search(t)) for t in ts), len(ts)) for k, ts in src.items()}
    return out


if __name__ == "__main__":
    import json
    import sys

    if len(sys.argv) > 2 and sys.argv[1] == "--words":  # --words sum,fewer,extra: training_word_counts as a table
        counts = training_word_counts(sys.argv[2].split(","))
        print("| word | " + " | ".join(next(iter(counts.values()))) + " |")
        print("|---" * (1 + len(next(iter(counts.values())))) + "|")
        for w, c in counts.items():
            print(f"| {w} | " + " | ".join(f"{a} / {b}" for a, b in c.values()) + " |")
        sys.exit(0)

    print("template families:", len(FAMILIES), "held out:", ", ".join(HELDOUT_FAMILIES))
    print("held-out facts:", sorted(HELDOUT_FACTS))
    print(json.dumps(sizes(), indent=1))
    rng = random.Random(1)
    for _ in range(6):
        p = sample_train(rng)
        print(repr(p.prompt), "->", p.target)
    for cat, ps in eval_prompts("validation").items():
        print(cat, repr(ps[0].prompt), "->", ps[0].target)
