"""How long a plain answer is, when the prompt asks for a length, and the text of that length.

A plain answer is two to four sentences (prose.paragraph) unless the last turn asks for a
length, read case-insensitively, first match wins:

* ``N words`` or ``N-word`` (N in digits, or one to twenty spelled out): exactly N words;
* ``N sentences`` or ``N-sentence``: N sentences;
* ``long``, ``detailed``, ``in detail``, ``in depth`` or ``essay``: LONG_WORDS words.

Sentences hold four to nine words and end with a punctuation mark, as paragraph's do; the
last one is shortened to land on N words. Words are counted without the punctuation, so the
answer holds more tokens than words. It is cut at max_output_tokens like any answer (finish
MAX_TOKENS when that cuts it), and the writer never writes more than that many words, so a
request for a million words costs no more than one that fills the cap.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# How many words "long" or "detailed" asks for.
LONG_WORDS = 500
# The most words or sentences a number in the prompt asks for, before the cap applies.
MOST = 1_000_000
_SPELLED = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
)  # fmt: skip
_NUMBERS = {word: value for value, word in enumerate(_SPELLED, start=1)}
_COUNTED = re.compile(
    rf"\b(\d{{1,7}}|{'|'.join(_SPELLED)})[ -](words?|sentences?)\b", re.IGNORECASE
)
_LONG = re.compile(r"\b(?:long|detailed|essay|in detail|in depth)\b", re.IGNORECASE)
# A plain prompt contains none of these, so most prompts are passed over by one search.
_ANY = re.compile(r"word|sentence|long|detail|essay|depth", re.IGNORECASE)
_ENDINGS = ".!?."


@dataclass(frozen=True)
class Length:
    """What the prompt asks for: a number of words, or of sentences."""

    words: int | None = None
    sentences: int | None = None


def requested(prompt: str) -> Length | None:
    """The length the prompt asks for, or None (a plain answer)."""
    if _ANY.search(prompt) is None:
        return None
    counted = _COUNTED.search(prompt)
    if counted is not None:
        number, unit = counted.groups()
        value = min(MOST, _NUMBERS.get(number.lower()) or int(number))
        if value > 0:
            return Length(sentences=value) if unit.lower().startswith("s") else Length(words=value)
    if _LONG.search(prompt) is not None:
        return Length(words=LONG_WORDS)
    return None


def sentences(
    length: Length, source: random.Random, choose: Callable[[int], str], cap: int
) -> Iterator[str]:
    """The answer's sentences, each with the space before it (none before the first).

    `choose` turns a draw (an int) into a word; at most `cap` words are written.
    """
    left = cap if length.words is None else min(cap, length.words)
    count = MOST if length.sentences is None else length.sentences
    first = True
    while left > 0 and count > 0:
        size = min(left, 4 + source.randrange(6))
        text = " ".join([choose(source.getrandbits(16)) for _ in range(size)])
        sentence = text[:1].upper() + text[1:] + _ENDINGS[source.randrange(4)]
        yield sentence if first else " " + sentence
        first = False
        left -= size
        count -= 1
