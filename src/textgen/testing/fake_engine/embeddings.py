"""Deterministic unit vectors for text: shared words and word forms pull vectors together.

A text's vector is the normalised sum of:

* one seeded random direction per lower-cased token (tokenizer's tokens), so texts with words
  in common are closer;
* for each word of three or more letters, its character trigrams with ``<`` and ``>`` marking
  the word's ends (``bake`` gives ``<ba bak ake ke>``), each a sparse seeded direction
  (NGRAM_NONZERO entries of equal size and random sign) weighted so that a word's trigrams
  together weigh NGRAM_WEIGHT: so forms of one word (bake, baker, bakery) share most of
  their trigrams and come out close even when no word is shared;
* half of a direction seeded by the whole text, the task type and the title, so any change
  of text (even a reordering of the same words), task type or title moves the vector.

The same input always gives the same vector. Unrelated words share no trigram, and their
sparse directions rarely overlap, so texts with nothing in common stay near orthogonal.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

from textgen.testing.fake_engine.prose import seeded
from textgen.testing.fake_engine.tokenizer import tokens

WHOLE_TEXT_WEIGHT = 0.5
# What a word's trigrams weigh together, beside its own direction (weight 1).
NGRAM_WEIGHT = 1.5
# How many coordinates a trigram's sparse direction sets.
NGRAM_NONZERO = 16
_LETTERS = re.compile(r"[^\W\d_]{3,}")


def embed_text(
    space: str, dimension: int, text: str, *, task_type: int = 0, title: str | None = None
) -> list[float]:
    """The unit vector for text in the named space (the model), of the given dimension."""
    whole = _direction(space, dimension, "text", text, task_type, title)
    total = [WHOLE_TEXT_WEIGHT * value for value in whole]
    lowered = text.lower()
    for token in tokens(lowered):
        total = [
            a + b for a, b in zip(total, _direction(space, dimension, "token", token), strict=True)
        ]
    for word in _LETTERS.findall(lowered):
        grams = _trigrams(word)
        weight = NGRAM_WEIGHT / math.sqrt(len(grams))
        for gram in grams:
            for index, value in _sparse(space, dimension, gram):
                total[index] += weight * value
    return normalised(total)


def _trigrams(word: str) -> list[str]:
    marked = f"<{word}>"
    return [marked[at : at + 3] for at in range(len(marked) - 2)]


def fit(vector: Sequence[float], dimensionality: int | None) -> list[float]:
    """vector cut to its first dimensionality values and scaled back to length 1."""
    return normalised(vector if dimensionality is None else vector[:dimensionality])


def normalised(vector: Sequence[float]) -> list[float]:
    """vector scaled to length 1 (a zero vector becomes the first axis)."""
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0.0:
        return [1.0] + [0.0] * (len(vector) - 1)
    return [value / norm for value in vector]


@functools.lru_cache(maxsize=4096)
def _direction(space: str, dimension: int, *key: object) -> tuple[float, ...]:
    source = seeded(space, dimension, *key)
    return tuple(source.gauss(0.0, 1.0) for _ in range(dimension))


@functools.lru_cache(maxsize=16384)
def _sparse(space: str, dimension: int, gram: str) -> tuple[tuple[int, float], ...]:
    """A direction with NGRAM_NONZERO coordinates set, as long as a dense direction is on
    average (sqrt(dimension), since each of those coordinates has variance 1)."""
    source = seeded(space, dimension, "gram", gram)
    size = math.sqrt(dimension / min(NGRAM_NONZERO, dimension))
    picked = source.sample(range(dimension), min(NGRAM_NONZERO, dimension))
    return tuple((index, size if source.random() < 0.5 else -size) for index in picked)
