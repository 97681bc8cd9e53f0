"""Prose: phrase draws what random.choice would; paragraph follows its rules from a digest's
bytes alone, the same in every process."""

from __future__ import annotations

import random
import re
import subprocess
import sys

from textgen.testing.fake_engine.prose import (
    DIGEST_SIZE,
    WORDS,
    digest,
    paragraph,
    phrase,
    vocabulary,
)


def test_phrase_matches_choice() -> None:
    for size in (4, 5, 17, 32, 33, len(WORDS)):
        words = WORDS[:size]
        for seed in range(200):
            by_choice = random.Random(seed)
            expected = " ".join(by_choice.choice(words) for _ in range(7))
            assert phrase(random.Random(seed), words, 7) == expected


SENTENCE = re.compile(r"([A-Z][a-z]*(?: [a-z]+)*)([.!?])")


def test_paragraph_is_two_to_four_sentences_of_four_to_nine_listed_words() -> None:
    shapes: set[tuple[int, ...]] = set()
    for size in (4, 5, 17, 33, len(WORDS)):
        words = WORDS[:size]
        for key in range(300):
            text = paragraph(digest("model", key), words)
            sentences = SENTENCE.findall(text)
            assert " ".join(body + end for body, end in sentences) == text
            assert 2 <= len(sentences) <= 4
            lengths = tuple(len(body.split()) for body, _ in sentences)
            assert all(4 <= length <= 9 for length in lengths)
            shapes.add(lengths)
            assert {word.lower() for body, _ in sentences for word in body.split()} <= set(words)
    # Every count of sentences and of words per sentence comes up.
    assert {len(shape) for shape in shapes} == {2, 3, 4}
    assert {length for shape in shapes for length in shape} == set(range(4, 10))


def test_paragraph_picks_each_word_and_ending_by_one_byte() -> None:
    # The rule spelt out plainly: byte 0 the sentence count, then per sentence a byte for
    # its length, one per word (`byte % len(words)`) and one for its ending.
    def spelt_out(draws: bytes, words: tuple[str, ...]) -> str:
        sentences, at = [], 1
        for _ in range(2 + draws[0] % 3):
            count = 4 + draws[at] % 6
            chosen = [words[byte % len(words)] for byte in draws[at + 1 : at + 1 + count]]
            sentence = " ".join(chosen)
            ending = ".!?."[draws[at + 1 + count] % 4]
            sentences.append(sentence[0].upper() + sentence[1:] + ending)
            at += count + 2
        return " ".join(sentences)

    source = random.Random(7)
    for size in (4, 5, 17, 33, len(WORDS)):
        words = WORDS[:size]
        for _ in range(500):
            draws = source.randbytes(DIGEST_SIZE)
            assert paragraph(draws, words) == spelt_out(draws, words)
        # A list equal to an earlier one but another object gets the same words.
        assert paragraph(draws, tuple(list(words))) == spelt_out(draws, words)


def test_paragraph_uses_the_whole_vocabulary_and_differs_by_key() -> None:
    texts = {paragraph(digest("model", key), WORDS) for key in range(200)}
    assert len(texts) == 200
    seen = {word.strip(".!?").lower() for text in texts for word in text.split()}
    assert seen == set(WORDS)


def test_digest_is_the_same_in_another_process() -> None:
    key = ("models/x", b"\x00prompt", 0, None)
    here = digest(*key)
    assert len(here) == DIGEST_SIZE
    there = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from textgen.testing.fake_engine.prose import digest;print(digest(*{key!r}).hex())",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    ).stdout.strip()
    assert there == here.hex()
    # Framing keeps parts apart: moving a character between parts changes the digest.
    assert digest("ab", "c") != digest("a", "bc")


def test_vocabulary_keeps_a_prefix_of_at_least_four_words() -> None:
    assert vocabulary(None, 1.0) == WORDS
    assert vocabulary(10, 0.5) == WORDS[:5]
    assert vocabulary(1, 0.1) == WORDS[:4]
