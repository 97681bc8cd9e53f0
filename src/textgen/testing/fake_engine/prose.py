"""Seeded pseudo-text: stable random sources and sentences drawn from a fixed word list.

The draws are those `random.Random` makes for `choice` and `randint` (each a `_randbelow`:
`getrandbits(n.bit_length())` until the value is below n), taken with `getrandbits` directly,
which saves most of the cost of a word while giving the very same text.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from collections.abc import Callable

# Ordered from "most likely" to "least likely": top_k and top_p keep a prefix of this list.
WORDS: tuple[str, ...] = (
    "the", "model", "answer", "signal", "river", "garden", "light", "stone",
    "quiet", "bright", "early", "window", "paper", "north", "harbor", "engine",
    "simple", "careful", "orange", "silver", "morning", "thread", "letter", "market",
    "forest", "little", "patient", "circle", "winter", "summer", "bridge", "lantern",
    "copper", "meadow", "feather", "ocean", "valley", "pocket", "ladder", "candle",
    "velvet", "marble", "cotton", "puzzle", "rocket", "saddle", "tunnel", "voyage",
)  # fmt: skip

# top_k and top_p never shrink the choice below this many words, so text stays varied.
MIN_VOCABULARY = 4

# How a sentence ends: paragraph() draws one of these as random.choice would.
_ENDINGS = ".!?."
Draw = Callable[[int], int]


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from parts that is the same in every process (unlike hash())."""
    chunks: list[bytes] = []
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode()
        chunks += (len(data).to_bytes(8, "big"), data)
    return int.from_bytes(hashlib.sha256(b"".join(chunks)).digest()[:8], "big")


def seeded(*parts: object) -> random.Random:
    """A random source determined by parts."""
    return random.Random(stable_seed(*parts))


@functools.lru_cache(maxsize=256)
def vocabulary(top_k: int | None, top_p: float) -> tuple[str, ...]:
    """The words sampling may pick: the top_k most likely, then the top_p share of those."""
    size = len(WORDS) if top_k is None else min(len(WORDS), top_k)
    size = math.ceil(size * min(max(top_p, 0.0), 1.0))
    return WORDS[: max(MIN_VOCABULARY, size)]


def below(draw: Draw, n: int) -> int:
    """A number in [0, n) (n >= 1), from the draws `random.Random.randrange(n)` makes."""
    bits = n.bit_length()
    found = draw(bits)
    while found >= n:
        found = draw(bits)
    return found


def phrase(source: random.Random, words: tuple[str, ...], count: int) -> str:
    """count words from words, separated by spaces."""
    return " ".join(_picks(source.getrandbits, words, count))


def paragraph(source: random.Random, words: tuple[str, ...]) -> str:
    """Two to four capitalised sentences of four to nine words each."""
    draw = source.getrandbits
    sentences = []
    for _ in range(2 + below(draw, 3)):  # randint(2, 4)
        sentence = " ".join(_picks(draw, words, 4 + below(draw, 6)))  # randint(4, 9)
        sentences.append(sentence[0].upper() + sentence[1:] + _ENDINGS[below(draw, 4)])
    return " ".join(sentences)


def _picks(draw: Draw, words: tuple[str, ...], count: int) -> list[str]:
    # count words as `count` calls of random.choice(words) would pick them.
    size = len(words)
    bits = size.bit_length()
    picked = []
    for _ in range(count):
        index = draw(bits)
        while index >= size:
            index = draw(bits)
        picked.append(words[index])
    return picked
