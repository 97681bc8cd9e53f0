"""Prose draws exactly what random.Random's choice and randint would, so text never changes."""

from __future__ import annotations

import random

from textgen.testing.fake_engine.prose import WORDS, paragraph, phrase, vocabulary


def paragraph_by_choice(source: random.Random, words: tuple[str, ...]) -> str:
    sentences = []
    for _ in range(source.randint(2, 4)):
        sentence = " ".join(source.choice(words) for _ in range(source.randint(4, 9)))
        sentences.append(sentence[0].upper() + sentence[1:] + source.choice(".!?."))
    return " ".join(sentences)


def test_paragraph_and_phrase_match_choice_and_randint() -> None:
    for size in (4, 5, 17, 32, 33, len(WORDS)):
        words = WORDS[:size]
        for seed in range(200):
            assert paragraph(random.Random(seed), words) == paragraph_by_choice(
                random.Random(seed), words
            )
            by_choice = random.Random(seed)
            expected = " ".join(by_choice.choice(words) for _ in range(7))
            assert phrase(random.Random(seed), words, 7) == expected


def test_vocabulary_keeps_a_prefix_of_at_least_four_words() -> None:
    assert vocabulary(None, 1.0) == WORDS
    assert vocabulary(10, 0.5) == WORDS[:5]
    assert vocabulary(1, 0.1) == WORDS[:4]
