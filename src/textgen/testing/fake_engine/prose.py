"""Seeded pseudo-text: stable random sources and sentences drawn from a fixed word list."""

from __future__ import annotations

import hashlib
import math
import random

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


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from parts that is the same in every process (unlike hash())."""
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return int.from_bytes(digest.digest()[:8], "big")


def seeded(*parts: object) -> random.Random:
    """A random source determined by parts."""
    return random.Random(stable_seed(*parts))


def vocabulary(top_k: int | None, top_p: float) -> tuple[str, ...]:
    """The words sampling may pick: the top_k most likely, then the top_p share of those."""
    size = len(WORDS) if top_k is None else min(len(WORDS), top_k)
    size = math.ceil(size * min(max(top_p, 0.0), 1.0))
    return WORDS[: max(MIN_VOCABULARY, size)]


def phrase(source: random.Random, words: tuple[str, ...], count: int) -> str:
    """count words from words, separated by spaces."""
    return " ".join(source.choice(words) for _ in range(count))


def paragraph(source: random.Random, words: tuple[str, ...]) -> str:
    """Two to four capitalised sentences of four to nine words each."""
    sentences = []
    for _ in range(source.randint(2, 4)):
        sentence = phrase(source, words, source.randint(4, 9))
        sentences.append(sentence[0].upper() + sentence[1:] + source.choice(".!?."))
    return " ".join(sentences)
