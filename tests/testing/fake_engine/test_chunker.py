"""Chunker: an answer written in fragments is cut and chunked exactly as the whole text is."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import pytest

from textgen.testing.fake_engine import tokenizer
from textgen.testing.fake_engine.chunker import Chunker

# Words, punctuation, runs of spaces and non-ASCII word characters, so that fragments end
# inside words, inside whitespace and inside stop sequences.
ALPHABET = ["ab", "c", "é", "_9", " ", "  ", "\n", ",", ".", "!", "x y", "STOP", "ST", "OP"]


def whole_text(text: str, stops: tuple[str, ...], limit: int, size: int) -> tuple[list[str], bool]:
    """What the fake engine streams for the whole text: cut at the first stop sequence and
    at `limit` tokens, then in chunks of `size` tokens."""
    found = [text.find(stop) for stop in stops if stop and stop in text]
    if found:
        text = text[: min(found)]
    kept, cut = tokenizer.truncate(text, limit)
    return tokenizer.chunks(kept, size), cut


def fragments(text: str, source: random.Random) -> list[str]:
    cuts = sorted(source.sample(range(len(text) + 1), min(len(text) + 1, source.randint(0, 8))))
    bounds = [0, *cuts, len(text)]
    return [text[begin:end] for begin, end in itertools.pairwise(bounds)]


def test_random_texts_fragments_and_limits_match_the_whole_text() -> None:
    source = random.Random(20240611)
    for _ in range(3000):
        text = "".join(source.choice(ALPHABET) for _ in range(source.randint(0, 30)))
        stops = tuple(source.sample(["STOP", "OP", "", "x y", ".", "zz"], source.randint(0, 3)))
        limit = source.randint(0, 12)
        size = source.randint(1, 5)
        chunker = Chunker(stops, limit, size)
        streamed = list(chunker.chunks(fragments(text, source)))
        expected, cut = whole_text(text, stops, limit, size)
        assert (streamed, chunker.cut) == (expected, cut), (text, stops, limit, size)
        assert chunker.tokens == tokenizer.count_tokens("".join(streamed))


@pytest.mark.parametrize("stops", [(), ("never",)])
def test_asks_for_no_fragment_after_the_limit(stops: tuple[str, ...]) -> None:
    asked: list[int] = []

    def endless() -> Iterator[str]:
        number = 0
        while True:
            asked.append(number)
            yield f"word{number} "
            number += 1

    chunker = Chunker(stops, limit=6, size=4)
    assert list(chunker.chunks(endless())) == ["word0 word1 word2 word3", " word4 word5"]
    assert chunker.cut
    assert len(asked) <= 8


def test_the_first_chunk_leaves_before_the_rest_is_written() -> None:
    written: list[str] = []

    def words() -> Iterator[str]:
        for number in range(100):
            written.append(str(number))
            yield f"w{number} "

    first = next(Chunker((), limit=1000, size=2).chunks(words()))
    assert first == "w0 w1"
    assert len(written) <= 3
