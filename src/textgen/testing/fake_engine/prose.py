"""Seeded pseudo-text: stable random sources and sentences drawn from a fixed word list.

Two kinds of draws. `seeded` gives a `random.Random` for the writers that need many or
unbounded draws (JSON values, log probabilities, embeddings); `phrase` takes its words with
`getrandbits` exactly as `random.choice` would. A plain answer needs at most 45 small draws,
so `paragraph` takes them from the bytes of one `digest` instead: a 64-byte hash costs a
tenth of seeding a Mersenne Twister, and this is the fake engine's most frequent answer.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from collections.abc import Callable

from textgen._kept import Kept

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

# How a sentence ends: paragraph() picks one of these ('.' twice as often).
_ENDINGS = ".!?."
# The bytes of a digest: enough for paragraph's longest answer (1 + 4 * (1 + 9 + 1) = 45).
DIGEST_SIZE = 64
# The most tokens a paragraph holds: four sentences of nine words and an ending.
PARAGRAPH_TOKENS = 4 * (9 + 1)
Draw = Callable[[int], int]


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from parts that is the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.sha256(_framed(parts)).digest()[:8], "big")


def _framed(parts: tuple[object, ...]) -> bytes:
    # Each part's bytes after their length, so ("ab", "c") and ("a", "bc") differ.
    chunks: list[bytes] = []
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode()
        chunks += (len(data).to_bytes(8, "big"), data)
    return b"".join(chunks)


def digest(*parts: object) -> bytes:
    """DIGEST_SIZE bytes determined by parts, the same in every process: `paragraph`'s draws."""
    return hashlib.blake2b(_framed(parts), digest_size=DIGEST_SIZE).digest()


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


def paragraph(draws: bytes, words: tuple[str, ...]) -> str:
    """Two to four capitalised sentences of four to nine words each, chosen by the bytes
    of `draws` (a `digest`), one byte per choice.

    A word is `byte % len(words)`: with 48 words the first 16 come up 6 times in 256 and
    the others 5, a lean toward the likelier words that suits a list ordered by likelihood.
    """
    plain, capital = _by_byte(words)
    # Every word of the paragraph in one list, each sentence's ending glued to its last.
    written = []
    at = 1
    for _ in range(2 + draws[0] % 3):
        start = at + 1
        end = start + 4 + draws[at] % 6
        written.append(capital[draws[start]])
        written += [plain[byte] for byte in draws[start + 1 : end]]
        written[-1] += _ENDINGS[draws[end] % 4]
        at = end + 1
    return " ".join(written)


# id of a word list -> (that list, the word each byte picks from it, capitalised too); the
# list is held so that its id is not reused while the entry lives.
_BY_BYTE: Kept[int, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = Kept(256)


def _by_byte(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The word `paragraph` writes for each byte value, as is and capitalised."""
    known = _BY_BYTE.get(id(words))
    if known is None or known[0] is not words:
        plain = tuple(words[byte % len(words)] for byte in range(256))
        capital = tuple(word[0].upper() + word[1:] for word in plain)
        known = _BY_BYTE.keep(id(words), (words, plain, capital))
    return known[1], known[2]


def paragraph_tokens(draws: bytes) -> int:
    """How many tokens `paragraph(draws, words)` holds, whatever the listed `words`: each
    word is one token, and so is each sentence's ending."""
    tokens = 0
    at = 1
    for _ in range(2 + draws[0] % 3):
        count = 4 + draws[at] % 6
        tokens += count + 1
        at += count + 2
    return tokens


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
