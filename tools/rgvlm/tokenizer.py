"""A small byte-level BPE (GPT-2 style) trainer and encoder that writes a Hugging Face `tokenizer.json`.

The encoder here must give the same ids as @huggingface/tokenizers (and the Rust `tokenizers`) on the same
tokenizer.json: added (special) tokens are split out first (leftmost-longest), the rest is split with the GPT-2
pattern, bytes are mapped to unicode with GPT-2's table, then merges are applied by rank.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter

# JavaScript / Oniguruma `\s` (Python's str.isspace() differs on \x1c-\x1f and \x85).
_WS = set("\t\n\x0b\x0c\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {
    chr(c) for c in range(0x2000, 0x200B)
}


def _is_space(ch: str) -> bool:
    return ch in _WS


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _is_number(ch: str) -> bool:
    return unicodedata.category(ch).startswith("N")


def _is_other(ch: str) -> bool:
    return not (_is_space(ch) or _is_letter(ch) or _is_number(ch))


_CONTRACTIONS = ["s", "t", "re", "ve", "m", "ll", "d"]


def gpt2_split(text: str) -> list[str]:
    """The GPT-2 pre-tokenizer regex
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    as a hand-written scanner (the Python stdlib `re` has no \\p{L})."""
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        # 1. contractions
        if ch == "'":
            hit = None
            for c in _CONTRACTIONS:
                if text.startswith(c, i + 1):
                    hit = c
                    break
            if hit is not None:
                out.append(text[i : i + 1 + len(hit)])
                i += 1 + len(hit)
                continue
        # 2-4. optional space then a run of one class
        j = i + 1 if (ch == " " and i + 1 < n) else i
        matched = False
        for pred in (_is_letter, _is_number, _is_other):
            if j < n and pred(text[j]):
                k = j
                while k < n and pred(text[k]):
                    k += 1
                out.append(text[i:k])
                i = k
                matched = True
                break
        if matched:
            continue
        # 5. \s+(?!\S)   6. \s+
        if _is_space(ch):
            k = i
            while k < n and _is_space(text[k]):
                k += 1
            if k == n:
                out.append(text[i:k])
                i = k
                continue
            # followed by a non-space: leave the last whitespace char for the next token
            if k - 1 > i:
                out.append(text[i : k - 1])
                i = k - 1
            else:
                out.append(text[i:k])
                i = k
            continue
        raise AssertionError("unreachable: " + repr(ch))
    return out


def bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {v: k for k, v in BYTE_ENCODER.items()}


def _byte_level(word: str) -> str:
    return "".join(BYTE_ENCODER[b] for b in word.encode("utf-8"))


def split_specials(text: str, specials: list[str]) -> list[tuple[str, bool]]:
    """Leftmost-longest split on added tokens -> [(segment, is_special)]."""
    out = []
    i, start, n = 0, 0, len(text)
    by_len = sorted(specials, key=lambda s: -len(s))
    while i < n:
        hit = None
        if text[i] == "<":
            for s in by_len:
                if text.startswith(s, i):
                    hit = s
                    break
        if hit is None:
            i += 1
            continue
        if i > start:
            out.append((text[start:i], False))
        out.append((hit, True))
        i += len(hit)
        start = i
    if start < n:
        out.append((text[start:], False))
    return out


def train_bpe(corpus: str, vocab_size: int, specials: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Returns (vocab tokens in id order without the specials, merges in rank order)."""
    words: Counter = Counter()
    for seg, special in split_specials(corpus, specials):
        if special:
            continue
        for w in gpt2_split(seg):
            words[_byte_level(w)] += 1
    vocab = [BYTE_ENCODER[b] for b in range(256)]
    known = set(vocab)
    target = vocab_size - len(specials)
    # words as lists of symbols, sorted for determinism
    items = sorted(words.items())
    syms = [list(w) for w, _ in items]
    counts = [c for _, c in items]
    merges: list[tuple[str, str]] = []
    while len(vocab) < target:
        pairs: Counter = Counter()
        for s, c in zip(syms, counts):
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += c
        if not pairs:
            raise RuntimeError(f"corpus too small: only {len(vocab)} tokens")
        best = max(pairs.items(), key=lambda kv: (kv[1], _neg_key(kv[0])))[0]
        merges.append(best)
        new = best[0] + best[1]
        if new not in known:
            known.add(new)
            vocab.append(new)
        for s in syms:
            k = 0
            while k < len(s) - 1:
                if s[k] == best[0] and s[k + 1] == best[1]:
                    s[k : k + 2] = [new]
                k += 1
    return vocab, merges


def _neg_key(pair: tuple[str, str]):
    # ties: prefer the lexicographically smallest pair (max() with a key that inverts order)
    return tuple(-ord(c) for c in pair[0]) + (1 << 30,) + tuple(-ord(c) for c in pair[1])


class ByteBPETokenizer:
    def __init__(self, vocab: list[str], merges: list[tuple[str, str]], specials: list[str]):
        self.vocab = list(vocab)
        self.merges = list(merges)
        self.specials = list(specials)
        self.token_to_id = {t: i for i, t in enumerate(self.vocab)}
        for k, s in enumerate(self.specials):
            self.token_to_id[s] = len(self.vocab) + k
        self.id_to_token = {i: t for t, i in self.token_to_id.items()}
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self._cache: dict[str, list[int]] = {}

    @property
    def size(self) -> int:
        return len(self.vocab) + len(self.specials)

    def _bpe(self, word: str) -> list[int]:
        if word in self._cache:
            return self._cache[word]
        s = list(word)
        while len(s) > 1:
            best, best_rank = None, None
            for k in range(len(s) - 1):
                r = self.ranks.get((s[k], s[k + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = k, r
            if best is None:
                break
            pair = (s[best], s[best + 1])
            # merge every occurrence of this pair, left to right
            out, k = [], 0
            while k < len(s):
                if k < len(s) - 1 and (s[k], s[k + 1]) == pair:
                    out.append(s[k] + s[k + 1])
                    k += 2
                else:
                    out.append(s[k])
                    k += 1
            s = out
        ids = [self.token_to_id[t] for t in s]
        self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for seg, special in split_specials(text, self.specials):
            if special:
                ids.append(self.token_to_id[seg])
                continue
            for w in gpt2_split(seg):
                ids.extend(self._bpe(_byte_level(w)))
        return ids

    def decode(self, ids: list[int]) -> str:
        out, buf = [], bytearray()
        for i in ids:
            t = self.id_to_token[i]
            if t in self.specials:
                if buf:
                    out.append(buf.decode("utf-8", errors="replace"))
                    buf = bytearray()
                out.append(t)
            else:
                buf.extend(BYTE_DECODER[c] for c in t)
        if buf:
            out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    def to_tokenizer_json(self) -> dict:
        added = [
            {
                "id": self.token_to_id[s],
                "content": s,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for s in self.specials
        ]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": {t: i for i, t in enumerate(self.vocab)},
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }


# ChatML. Content is a string, or a list of {"type": "image"} / {"type": "text", "text": ...} parts (llava style).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}"
    "{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<image>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>' + '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def render_chat(messages: list[dict], add_generation_prompt: bool = True) -> str:
    """Python twin of CHAT_TEMPLATE (jinja2 is not installed; the node test renders the Jinja and compares)."""
    out = []
    for m in messages:
        out.append("<|im_start|>" + m["role"] + "\n")
        c = m["content"]
        if isinstance(c, str):
            out.append(c)
        else:
            for part in c:
                if part["type"] == "image":
                    out.append("<image>")
                elif part["type"] == "text":
                    out.append(part["text"])
        out.append("<|im_end|>\n")
    if add_generation_prompt:
        out.append("<|im_start|>assistant\n")
    return "".join(out)


def expand_image_tokens(text: str, image_token: str, n: int) -> str:
    """llava processor: every image token in the text becomes n of them."""
    return text.replace(image_token, image_token * n)


def dumps_json(obj) -> str:
    """Deterministic JSON for every file the exporter writes."""
    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
