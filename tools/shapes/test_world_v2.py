"""World v2's promises, checked on everything it generates (world_v2.py):

  - no held-out template family's text appears in any training prompt (and every held-out family does write it);
  - no held-out fact appears in any training drawing prompt (read back by an independent reader) or target;
  - the arithmetic questions answered with a chain of thought (every fact, as knowledge) ask for no picture, carry no
    held-out family's marker, and state true facts;
  - names in word problems say nothing about the numbers;
  - train / validation / test are disjoint (items, prompt strings, reasoning targets);
  - every phrasing, read back by the reader below (written without world_v2's families), asks for the prompt's
    (n, colour, kind), and the world's render of it reads back the same through the checker;
  - every phrasing tokenises with the shipped pack's tokenizer: exact round trip, no special-token ids, the Imagine
    turn + target within max_position_embeddings, the target within eval's 48 new tokens.
  - edit tasks: held-out instruction families and held-out facts never in a trained task, disjoint splits, every
    target reads the picture it is given, the picture renders what the task says it shows.

    PYTHONPATH=. /usr/bin/python3 -m tools.shapes.test_world_v2      # ~1 min
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import sys
import time
from collections import Counter

from tools.shapes import world as W
from tools.shapes import world_v2 as V

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORDS = {w: str(i) for i, w in enumerate(W.NUMBER_WORDS)}
KIND_OF = {"circle": "circle", "circles": "circle", "square": "square", "squares": "square", "triangle": "triangle",
           "triangles": "triangle"}


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def read(text: str) -> dict:
    """What a prompt asks for, by keywords: {"oow": True} or {op, a, b, n, colour, kind}."""
    t = norm(text).rstrip(".!?")
    t = re.sub(r"\b(" + "|".join(W.NUMBER_WORDS) + r")\b", lambda m: WORDS[m.group(1)], t)
    t = re.sub(r"(\d)([+-])(\d)", r"\1 \2 \3", t)
    nums = [int(x) for x in re.findall(r"\b\d+\b", t)]
    kinds = {KIND_OF[w] for w in re.findall(r"\b(circles?|squares?|triangles?)\b", t)}
    colours = [c for c in re.findall(r"\b(" + "|".join(W.COLOURS) + r")\b", t)]
    mix = re.search(r"mix(?:ing)? (\w+) (?:and|with) (\w+)", t)
    if len(kinds) != 1 or not nums:
        return {"oow": True}
    kind = kinds.pop()
    if mix:
        colour = W.MIXES.get((mix.group(1), mix.group(2))) or W.MIXES.get((mix.group(2), mix.group(1)))
        op, a, b, n = "mix", nums[0], 0, nums[0]
    else:
        if len(set(colours)) != 1:
            return {"oow": True}
        colour = colours[0]
        if re.search(r" plus | \+ |sum of|gets? \d+ more|and \d+ more|\d+ added|increased by", t):
            op, (a, b) = "add", nums[:2]
            n = a + b
        elif re.search(r"fewer", t):
            op, (b, a) = "sub", nums[:2]
            n = a - b
        elif re.search(r" minus | - |roll away|give away|take away|loses|without|removed|decreased by", t):
            op, (a, b) = "sub", nums[:2]
            n = a - b
        elif re.search(r"larger|more,|bigger|\bmax\b", t):
            op, (a, b) = "larger", nums[:2]
            n = max(a, b)
        elif re.search(r"smaller|less,|lower|\bmin\b", t):
            op, (a, b) = "smaller", nums[:2]
            n = min(a, b)
        else:
            if len(nums) != 1:
                return {"oow": True}
            op, a, b, n = "direct", nums[0], 0, nums[0]
    if not 0 <= n <= W.MAX_COUNT:
        return {"oow": True}
    return {"op": op, "a": a, "b": b, "n": n, "colour": colour, "kind": kind}


def fact_of(r: dict):
    if r.get("op") == "add":
        return ("sum", min(r["a"], r["b"]), max(r["a"], r["b"]))
    if r.get("op") == "sub":
        return ("sum", min(r["b"], r["n"]), max(r["b"], r["n"]))
    if r.get("op") in ("larger", "smaller"):
        return ("cmp", min(r["a"], r["b"]), max(r["a"], r["b"]))
    return None


def facts_in_think(think: str) -> set:
    out = set()
    for x, y, s in re.findall(r"(\d+) \+ (\d+) = (\d+)", think):
        out.add(("sum", min(int(x), int(y)), max(int(x), int(y))))
    for s, x, y in re.findall(r"(\d+) - (\d+) = (\d+)", think):
        out.add(("sum", min(int(x), int(y)), max(int(x), int(y))))
    for x, y in re.findall(r"(\d+) is (?:larger|smaller) than (\d+)", think):
        out.add(("cmp", min(int(x), int(y)), max(int(x), int(y))))
    return out


# --------------------------------------------------------------------------------------------- the world
TRAIN = V.train_prompts(scale=2)
_rng = random.Random(11)
SAMPLED = [V.sample_train(_rng) for _ in range(5000)]
EVAL = {s: V.eval_prompts(s) for s in ("validation", "test")}
EVAL_ALL = [p for s in EVAL.values() for ps in s.values() for p in ps]


def test_heldout_families_never_in_train():
    held = [V.FAMILIES[f] for f in V.HELDOUT_FAMILIES]
    assert len(held) >= 6 and all(f.marker for f in held), "every held-out family needs a marker"
    for p in TRAIN + SAMPLED:
        assert p.template not in V.HELDOUT_FAMILIES, p
        t = norm(p.prompt)
        for f in held:
            assert norm(f.marker) not in t, f"held-out family {f.name} ({f.marker!r}) in a training prompt: {p.prompt!r}"
    # the markers are what those families write, and the evaluation uses every one of them
    used = Counter(p.template for p in EVAL_ALL if p.template in V.HELDOUT_FAMILIES)
    assert set(used) == set(V.HELDOUT_FAMILIES), used
    for p in EVAL_ALL:
        if p.template in V.HELDOUT_FAMILIES:
            assert norm(V.FAMILIES[p.template].marker) in norm(p.prompt), p.prompt


def test_reasoning_questions_ask_no_picture():
    """The arithmetic questions answered with a chain of thought (every fact, held-out ones included, as knowledge):
    no colour, shape or instruction prefix, no held-out family's marker, and the thinking states the true fact."""
    rng = random.Random(7)
    held = [norm(V.FAMILIES[f].marker) for f in V.HELDOUT_FAMILIES]
    seen = set()
    for _ in range(3000):
        q, target = V.reasoning_fact(rng)
        t = norm(q)
        assert not re.search(r"\b(" + "|".join(W.COLOURS + list(KIND_OF)) + r")\b", t), q
        assert not any(m in t for m in held), q
        m = re.fullmatch(r"<think>(\d+) ([-+]|is larger than|is smaller than) (\d+)(?: = (\d+))?</think>"
                         r"<answer>(\d+)</answer>", target)
        assert m, target
        x, rel, y, res, ans = m.groups()
        x, y, ans = int(x), int(y), int(ans)
        want = {"+": x + y, "-": x - y, "is larger than": x, "is smaller than": x}[rel]
        assert ans == want and (res is None or int(res) == want) and (rel[0] not in "i" or (x > y) == ("larger" in rel))
        seen |= facts_in_think(target)
    assert V.HELDOUT_FACTS <= seen  # every held-out fact is known this way


def test_held_out_word_questions_only_when_asked():
    """The experiment's questions (stage_edit --held_out_words) never come without the flag; with it, about a third
    of the questions are theirs, each states a true fact, and they do carry held-out families' words."""
    off, on = random.Random(3), random.Random(3)
    experiment_words = ("sum of", "fewer", "extra", "mix ")
    assert not any(w in norm(V.reasoning_fact(off)[0]) for _ in range(3000) for w in experiment_words)
    words = 0
    for _ in range(3000):
        q, target = V.reasoning_fact(on, held_out_words=True)
        t = norm(q)
        if not any(w in t for w in experiment_words):
            continue
        words += 1
        m = re.fullmatch(r"<think>(?:(\d+) ([-+]) (\d+) = (\d+)|(\w+) and (\w+) make (\w+))</think><answer>(\w+)</answer>",
                         target)
        assert m, target
        x, sym, y, res, c1, c2, mixed, ans = m.groups()
        if sym:
            assert int(res) == (int(x) + int(y) if sym == "+" else int(x) - int(y)) == int(ans), target
        else:
            assert W.MIXES.get((c1, c2), W.MIXES.get((c2, c1))) == mixed == ans, target
    assert 800 < words < 1200, words


def test_heldout_facts_never_in_train():
    assert len(V.HELDOUT_FACTS) >= 10
    for p in TRAIN + SAMPLED:
        r = read(p.prompt)
        assert fact_of(r) not in V.HELDOUT_FACTS, f"held-out fact {fact_of(r)} in a training prompt: {p.prompt!r}"
        bad = facts_in_think(p.think) & V.HELDOUT_FACTS
        assert not bad, f"held-out fact {bad} in a training target: {p.target!r}"
    # every held-out fact is evaluated, in both splits' facts rows, and only there
    for split, cats in EVAL.items():
        seen = {fact_of(read(p.prompt)) for p in cats["facts"]}
        assert seen == set(V.HELDOUT_FACTS), (split, set(V.HELDOUT_FACTS) - seen)
        for cat in ("instances", "templates"):
            assert not {fact_of(read(p.prompt)) for p in cats[cat]} & V.HELDOUT_FACTS, (split, cat)


def mutual_information(pairs) -> float:
    """Bits shared by the two members of the pairs: the plug-in estimate less its bias for independent variables
    (Miller-Madow, (|X| - 1)(|Y| - 1) / (2 N ln 2))."""
    n = len(pairs)
    pxy = Counter(pairs)
    px = Counter(x for x, _ in pairs)
    py = Counter(y for _, y in pairs)
    plug_in = sum(c / n * math.log2(c * n / (px[x] * py[y])) for (x, y), c in pxy.items())
    return plug_in - (len(px) - 1) * (len(py) - 1) / (2 * n * math.log(2))


def test_names_independent_of_numbers():
    named = [p for p in TRAIN + SAMPLED + EVAL_ALL if p.template in ("add_word", "sub_name_loses")]
    pairs = []
    for p in named:
        name = p.prompt.split()[0]
        assert name in V.NAMES, p.prompt
        pairs.append((name, p.n))
    by_n = {}
    for name, n in pairs:
        by_n.setdefault(n, set()).add(name)
    assert all(len(v) == len(V.NAMES) for v in by_n.values()), by_n  # every name with every result
    mi = mutual_information(pairs)
    # v1's NAMES[(a + b) % 4] would share 2 bits with the sum; a hash of the whole phrasing leaves noise (~0.005)
    assert mi < 0.01, f"names carry {mi:.3f} bits about the result"
    # nor about either number
    assert mutual_information([(p.prompt.split()[0], p.item.a) for p in named]) < 0.01
    assert mutual_information([(p.prompt.split()[0], p.item.b) for p in named]) < 0.01


def test_splits_disjoint():
    items = V.all_items()
    split = {it: V.split_of(it) for it in items}
    assert len(split) == len(items), "items repeat"
    assert set(split.values()) == set(V.SPLITS)
    for p in TRAIN + SAMPLED:
        assert split[p.item] == "train" and p.item.oow_family != V.HELDOUT_OOW_FAMILY, p
    for s, cats in EVAL.items():
        for p in (p for ps in cats.values() for p in ps):
            assert p.split == s
            if not (p.item.oow_family == V.HELDOUT_OOW_FAMILY):
                assert split[p.item] == s, (s, p)
    val = {p.prompt for ps in EVAL["validation"].values() for p in ps}
    test = {p.prompt for ps in EVAL["test"].values() for p in ps}
    tr = {p.prompt for p in TRAIN + SAMPLED}
    assert not (val & test) and not (val & tr) and not (test & tr)
    val_items = {p.item for ps in EVAL["validation"].values() for p in ps}
    test_items = {p.item for ps in EVAL["test"].values() for p in ps}
    assert not val_items & test_items
    # no held-out reasoning target (out-of-world ones share one answer by design) is a training target
    train_targets = {p.target for p in TRAIN + SAMPLED if p.intent != "oow"}
    for p in EVAL_ALL:
        if p.intent != "oow":
            assert p.target not in train_targets, p


def test_every_phrasing_renders_its_request():
    from tools.shapes.checker import check, matches

    counts = Counter()
    for p in TRAIN + SAMPLED + EVAL_ALL:
        r = read(p.prompt)
        if p.intent == "oow":
            assert r == {"oow": True}, (p.prompt, r)
            assert (p.n, p.colour, p.kind) == (0, None, None) and p.answer == V.OOW_ANSWER
            continue
        assert (r.get("n"), r.get("colour"), r.get("kind")) == (p.n, p.colour, p.kind), (p.prompt, r, p.target)
        assert p.answer == W.caption(p.n, p.colour, p.kind) and f"so {W.NUMBER_WORDS[p.n]} " in p.think
        counts[(p.n, p.colour, p.kind)] += 1
    for (n, colour, kind) in counts:
        img = W.render([W.Obj(colour, kind, s) for s in range(n)])
        assert matches(check(img), n, colour, kind), (n, colour, kind)
    # out of world: the painter's target is the empty canvas (paint_key's caption has n = 0)
    oow = next(p for p in EVAL_ALL if p.intent == "oow")
    n, colour, kind = V.paint_key(oow)
    assert n == 0 and check(W.render([W.Obj(colour, kind, s) for s in range(n)]))["objects"] == []
    # the phrasings really vary: verbs, number words, operators, capitals, punctuation, spaces, questions
    texts = [p.prompt for p in TRAIN]
    for pat in (r"^\s*(Draw|Paint|Show|Make|Sketch|Give me|I want|Can you|Could you)", r"\bsketch\b", r"\bgive me\b",
                r"\b(one|two|three|four) plus (one|two|five|six)\b", r"\d\+\d", r"\d \+ \d", r"\d-\d", r"\?$", r"\.$", r"!$", r"  ", r" $", r"^ ",
                r"^I have .* give away", r"^[A-Z]"):
        assert any(re.search(pat, t) for t in texts), pat


def test_tokenises_with_the_shipped_tokenizer():
    from tools.shapes.data import imagine_text
    from tools.shapes.models import shapes_config, tokenizer

    tok = tokenizer()
    with open(os.path.join(ROOT, "public", "models", "shapes", "tokenizer.json")) as f:
        assert tok.to_tokenizer_json() == json.load(f), "tools' tokenizer is not the shipped pack's"
    pc = shapes_config()
    n_plain = len(tok.vocab)  # specials are numbered after the BPE vocabulary
    longest = 0
    for p in TRAIN[::3] + SAMPLED + EVAL_ALL:
        ids = tok.encode(p.prompt)
        assert tok.decode(ids) == p.prompt, p.prompt
        assert all(0 <= i < n_plain for i in ids), (p.prompt, ids)
        target = tok.encode(p.target)
        assert len(target) + 1 <= 48, (len(target), p.target)  # eval's max_new_tokens, with </answer> counted once
        total = len(tok.encode(imagine_text(p.prompt, cot=True))) + len(target) + 1
        assert total <= pc.reasoner.max_position_embeddings, total
        longest = max(longest, total)
    print(f"  longest Imagine turn + target: {longest} tokens (limit {pc.reasoner.max_position_embeddings})")


def test_edit_tasks():
    """Edit tasks: held-out instruction families never phrase a training task and their markers are in no training
    instruction; no trained task rests on a held-out fact; the splits are disjoint (tasks and targets); every target
    says what the picture shows and what the result is; the picture's render reads back as the task's source."""
    from tools.shapes.checker import check, matches
    from tools.shapes.data import imagine_text
    from tools.shapes.models import tokenizer

    items = V.all_edit_items()
    assert len(set(items)) == len(items)
    split = {it: V.edit_split(it) for it in items}
    targets = {s: {it.target for it in items if split[it] == s} for s in V.SPLITS}
    assert not (targets["train"] & targets["validation"]) and not (targets["train"] & targets["test"])
    assert all(V.edit_fact(it) not in V.HELDOUT_FACTS for it in items if split[it] == "train")
    assert any(V.edit_fact(it) in V.HELDOUT_FACTS for it in items if split[it] == "test")
    rng = random.Random(5)
    train = [V.sample_edit_train(rng)[0] for _ in range(4000)]
    held = [f for f in V.EDIT_FAMILIES if f.heldout]
    assert {f.op for f in held} == set(V.EDIT_OPS)
    for p in train:
        assert split[p.item] == "train" and not V.EDIT_FAMILY[p.template].heldout
        assert all(f.marker not in p.instruction.lower() for f in held), p.instruction
    tok = tokenizer()
    for s in ("validation", "test"):
        ev = V.edit_eval_prompts(s)
        assert all(split[p.item] == s for ps in ev.values() for p, _ in ps)
        assert all(V.EDIT_FAMILY[p.template].heldout for p, _ in ev["edit_templates"])
        assert all(V.EDIT_FAMILY[p.template].marker in p.instruction.lower() for p, _ in ev["edit_templates"])
        assert all(V.edit_fact(p.item) in V.HELDOUT_FACTS for p, _ in ev["edit_facts"])
        assert not any(V.edit_fact(p.item) in V.HELDOUT_FACTS for p, _ in ev["edit_instances"] + ev["edit_templates"])
        for p, seed in ev["edit_instances"][::9] + ev["edit_facts"][::9]:
            it = p.item
            assert matches(check(p.image(seed)), it.n, it.colour, it.kind), (p, seed)
            assert p.think.startswith(f"the picture shows {W.caption(it.n, it.colour, it.kind)};")
            assert p.answer == W.caption(p.n, p.colour, p.kind)
            ids = tok.encode(p.target)
            assert tok.decode(ids) == p.target and len(ids) <= 48
            assert len(tok.encode(imagine_text(p.instruction, True))) + len(ids) + 16 <= 512


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


if __name__ == "__main__":
    t0 = time.time()
    print(f"{len(TRAIN)} training prompts, {len(SAMPLED)} sampled, {len(EVAL_ALL)} evaluation prompts")
    failed = 0
    for t in TESTS:
        try:
            t()
            print(f"ok   {t.__name__}")
        except AssertionError as e:
            failed += 1
            print(f"FAIL {t.__name__}: {str(e)[:400]}")
    print(f"{len(TESTS) - failed}/{len(TESTS)} passed ({time.time() - t0:.0f} s)")
    sys.exit(1 if failed else 0)
