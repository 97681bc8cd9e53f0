"""FakeEngine.embed: deterministic unit vectors of the model's dimension."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textgen.v1 import generation_pb2

from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine

GECKO = default_model("models/embedding-gecko-001")
TEXT_EMBEDDING = default_model("models/text-embedding-004")


def norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(value * value for value in vector))


def cosine(first: Sequence[float], second: Sequence[float]) -> float:
    return sum(a * b for a, b in zip(first, second, strict=True))


async def test_vectors_are_unit_length_with_the_model_dimension() -> None:
    engine = FakeEngine()
    assert engine.embedding_dimension(GECKO) == 768
    vectors = await engine.embed(GECKO, ["hello world", "", "a much longer text, with commas"])
    assert [len(vector) for vector in vectors] == [768, 768, 768]
    assert all(math.isclose(norm(vector), 1.0) for vector in vectors)


async def test_same_text_same_vector_and_different_texts_differ() -> None:
    first, again, reordered = await FakeEngine().embed(
        TEXT_EMBEDDING, ["dog bites man", "dog bites man", "man bites dog"]
    )
    assert first == again
    assert first != reordered
    assert (await FakeEngine(seed=9).embed(TEXT_EMBEDDING, ["dog bites man"]))[0] == first


async def test_shared_words_make_vectors_closer() -> None:
    base, near, far = await FakeEngine().embed(
        TEXT_EMBEDDING, ["the red fox jumps", "the red fox sleeps", "quantum ledger audit"]
    )
    assert cosine(base, near) > cosine(base, far)


async def test_task_type_and_title_change_the_vector() -> None:
    engine = FakeEngine()
    plain = (await engine.embed(TEXT_EMBEDDING, ["query"]))[0]
    as_query = await engine.embed(
        TEXT_EMBEDDING, ["query"], task_type=generation_pb2.RETRIEVAL_QUERY
    )
    titled = await engine.embed(TEXT_EMBEDDING, ["query"], title="A title")
    assert as_query[0] != plain
    assert titled[0] != plain


async def test_dimensionality_truncates_then_renormalises() -> None:
    engine = FakeEngine()
    full = (await engine.embed(TEXT_EMBEDDING, ["shorten me"]))[0]
    short = (await engine.embed(TEXT_EMBEDDING, ["shorten me"], dimensionality=16))[0]
    assert len(short) == 16
    assert math.isclose(norm(short), 1.0)
    scale = norm(full[:16])
    assert all(math.isclose(s, f / scale) for s, f in zip(short, full[:16], strict=True))


async def test_word_forms_are_close_without_a_shared_word() -> None:
    bake, baker, bakery, printing = await FakeEngine().embed(
        TEXT_EMBEDDING, ["bake", "baker", "bakery", "printing"]
    )
    assert cosine(bake, baker) > 0.3 and cosine(bake, bakery) > 0.3
    assert abs(cosine(bake, printing)) < 0.1


async def test_texts_sharing_word_forms_beat_unrelated_texts() -> None:
    query, forms, unrelated = await FakeEngine().embed(
        TEXT_EMBEDDING,
        ["How do I bake bread?", "Bakers baking breads", "The history of the printing press."],
    )
    assert cosine(query, forms) > 0.25 > cosine(query, unrelated) + 0.15
