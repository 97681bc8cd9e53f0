"""The fake tokenizer: words and punctuation marks, shared by counting and generation."""

from __future__ import annotations

import random

import pytest

from textgen.testing.fake_engine import tokenizer
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("   \n\t", 0),
        ("Hello, world!", 4),
        ("don't", 3),
        ("unsafe:violence:high", 5),
        ("naïve café 42", 3),
    ],
)
def test_counts_words_and_punctuation(text: str, expected: int) -> None:
    assert tokenizer.count_tokens(text) == expected
    assert len(tokenizer.tokens(text)) == expected


def test_ascii_count_agrees_with_the_pattern() -> None:
    # Counting ASCII text takes a shortcut; it must agree with the tokens everywhere,
    # control characters and every kind of whitespace included.
    alphabet = [chr(code) for code in range(128)]
    source = random.Random(7)
    for _ in range(20_000):
        text = "".join(source.choices(alphabet, k=source.randint(0, 24)))
        assert tokenizer.count_tokens(text) == len(tokenizer.tokens(text)), repr(text)
    assert tokenizer.count_tokens("a\x1fb\x1c\x7f_c") == 4  # "a" "b" "\x7f" "_c"


async def test_engine_counts_with_the_tokenizer() -> None:
    model = default_model("models/text-bison-001")
    assert await FakeEngine().count_tokens(model, "Hello, world!") == 4


def test_truncate_keeps_whole_tokens_and_reports_the_cut() -> None:
    assert tokenizer.truncate("One, two three.", 3) == ("One, two", True)
    assert tokenizer.truncate("One, two three.", 5) == ("One, two three.", False)
    assert tokenizer.truncate("One two", 0) == ("", True)


def test_chunks_rejoin_to_the_text() -> None:
    text = "  Alpha, beta gamma. Delta epsilon!  "
    pieces = tokenizer.chunks(text, 2)
    assert "".join(pieces) == text
    assert [tokenizer.count_tokens(piece) for piece in pieces] == [2, 2, 2, 2]
