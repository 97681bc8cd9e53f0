"""Deterministic unit vectors for text: shared words pull vectors together, any change moves them.

A text's vector is the normalised sum of one seeded random direction per lower-cased token
and half of a direction seeded by the whole text, the task type and the title. So the same
input always gives the same vector, texts with words in common have a higher cosine
similarity, and different texts (even reorderings of the same words) differ.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from textgen.testing.fake_engine.prose import seeded
from textgen.testing.fake_engine.tokenizer import tokens

WHOLE_TEXT_WEIGHT = 0.5


def embed_text(
    space: str, dimension: int, text: str, *, task_type: int = 0, title: str | None = None
) -> list[float]:
    """The unit vector for text in the named space (the model), of the given dimension."""
    whole = _direction(space, dimension, "text", text, task_type, title)
    total = [WHOLE_TEXT_WEIGHT * value for value in whole]
    for token in tokens(text.lower()):
        total = [
            a + b for a, b in zip(total, _direction(space, dimension, "token", token), strict=True)
        ]
    return normalised(total)


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
