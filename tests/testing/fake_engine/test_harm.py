"""The fake harm check: marker words rate prompts, echo markers make harmful candidates."""

from __future__ import annotations

from collections.abc import Sequence

from textgen.v1 import safety_pb2

from textgen.server.engine import HarmRating, RatingStream
from textgen.testing.fake_engine import harm
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input

GEMINI = default_model("models/gemini-1.5-flash")
BISON = default_model("models/text-bison-001")
Rating = safety_pb2.SafetyRating


def probabilities(ratings: Sequence[HarmRating]) -> dict[int, int]:
    return {rating.category: rating.probability for rating in ratings}


def test_rates_every_requested_category_in_order() -> None:
    wanted = [safety_pb2.HARM_CATEGORY_VIOLENCE, safety_pb2.HARM_CATEGORY_TOXICITY]
    ratings = harm.rate("unsafe:violence:high and unsafe:toxicity:low", wanted)
    assert [rating.category for rating in ratings] == wanted
    assert ratings == (
        HarmRating(safety_pb2.HARM_CATEGORY_VIOLENCE, Rating.HIGH),
        HarmRating(safety_pb2.HARM_CATEGORY_TOXICITY, Rating.LOW),
    )


def test_unmarked_text_is_negligible_and_the_highest_marker_wins() -> None:
    categories = harm.CONTENT_CATEGORIES
    assert set(probabilities(harm.rate("a kind sentence", categories)).values()) == {
        Rating.NEGLIGIBLE
    }
    marked = harm.rate(
        "UNSAFE:HATE_SPEECH:LOW unsafe:hate_speech:medium", [safety_pb2.HARM_CATEGORY_HATE_SPEECH]
    )
    assert marked[0].probability == Rating.MEDIUM


def test_any_marks_every_category() -> None:
    ratings = harm.rate("unsafe:any:medium", harm.TEXT_CATEGORIES)
    assert {rating.probability for rating in ratings} == {Rating.MEDIUM}


def test_marker_helper_spells_the_trigger() -> None:
    text = harm.marker(safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT, "high")
    assert text == "unsafe:dangerous_content:high"
    ratings = harm.rate(text, [safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT])
    assert ratings[0].probability == Rating.HIGH


async def test_engine_rate_uses_the_markers() -> None:
    engine = FakeEngine()
    ratings = await engine.rate(BISON, "unsafe:violence:high", [safety_pb2.HARM_CATEGORY_VIOLENCE])
    assert ratings[0].probability == Rating.HIGH


async def test_echo_marker_makes_the_candidate_harmful_but_not_the_prompt() -> None:
    prompt = "Write a poem. echo:unsafe:harassment:high"
    engine = FakeEngine()
    rated = await engine.rate(GEMINI, prompt, [safety_pb2.HARM_CATEGORY_HARASSMENT])
    assert rated[0].probability == Rating.NEGLIGIBLE
    output = await engine.generate(generation_input(GEMINI, prompt, candidate_count=2))
    for candidate in output.candidates:
        assert candidate.text().startswith("unsafe:harassment:high ")
        assert probabilities(candidate.safety_ratings)[safety_pb2.HARM_CATEGORY_HARASSMENT] == (
            Rating.HIGH
        )
        again = await engine.rate(GEMINI, candidate.text(), [safety_pb2.HARM_CATEGORY_HARASSMENT])
        assert again[0].probability == Rating.HIGH


async def test_candidate_ratings_cover_the_model_family() -> None:
    engine = FakeEngine()
    content = (await engine.generate(generation_input(GEMINI, "hi"))).candidates[0]
    text = (
        await engine.generate(generation_input(BISON, "hi echo:unsafe:medical:low"))
    ).candidates[0]
    assert list(probabilities(content.safety_ratings)) == list(harm.CONTENT_CATEGORIES)
    assert list(probabilities(text.safety_ratings)) == list(harm.TEXT_CATEGORIES)
    assert probabilities(text.safety_ratings)[safety_pb2.HARM_CATEGORY_MEDICAL] == Rating.LOW


def test_running_rating_equals_rate_on_every_prefix() -> None:
    categories = list(safety_pb2.HarmCategory.values())
    pieces = [
        "intro unsafe:viol",  # a marker split across pieces
        "ence:high",
        "",
        " and unsafe:toxicity:low",  # counts while it ends the text ...
        "er",  # ... and no longer once its last word grows
        " x" * 40,  # a tail longer than any marker
        "wordunsafe:",  # a marker inside a word never counts
        "any:high",
        " unsafe:any:medium",
    ]
    running = harm.RunningRating()
    so_far = ""
    seen = []
    for piece in pieces:
        so_far += piece
        ratings = running.add(piece, categories)
        assert ratings == harm.rate(so_far, categories)
        seen.append(probabilities(ratings)[safety_pb2.HARM_CATEGORY_TOXICITY])
    assert seen[3:5] == [Rating.LOW, Rating.NEGLIGIBLE]
    assert seen[-1] == Rating.MEDIUM


async def test_engine_rates_a_stream_piece_by_piece() -> None:
    engine = FakeEngine()
    stream = RatingStream()
    wanted = [safety_pb2.HARM_CATEGORY_HARASSMENT]
    first = await engine.rate(GEMINI, "say unsafe:harass", wanted, stream=stream)
    stream.earlier.append("say unsafe:harass")
    second = await engine.rate(GEMINI, "ment:high now", wanted, stream=stream)
    assert first[0].probability == Rating.NEGLIGIBLE
    assert second[0].probability == Rating.HIGH


def test_unmarked_ratings_come_in_the_order_asked_and_are_shared() -> None:
    # Categories as a list or a tuple, in any order. Ratings are immutable values, so text
    # without markers gets the same tuple again for the same categories.
    wanted = [safety_pb2.HARM_CATEGORY_TOXICITY, safety_pb2.HARM_CATEGORY_DEROGATORY]
    first = harm.rate("plain words", wanted)
    assert first == (
        HarmRating(safety_pb2.HARM_CATEGORY_TOXICITY, Rating.NEGLIGIBLE),
        HarmRating(safety_pb2.HARM_CATEGORY_DEROGATORY, Rating.NEGLIGIBLE),
    )
    assert harm.rate("other plain words", tuple(wanted)) is first
    assert harm.rate("plain words", list(reversed(wanted))) == tuple(reversed(first))
    assert harm.rate("plain words", []) == ()


def test_candidates_are_rated_for_their_models_family() -> None:
    from textgen.testing.fake_engine.candidates import categories  # noqa: PLC0415

    assert categories(BISON, "text") == harm.TEXT_CATEGORIES
    assert categories(GEMINI, "text") == harm.CONTENT_CATEGORIES
    # A model the engine has not seen before is looked at afresh, even under a known name.
    renamed = default_model("models/gemini-1.5-flash")
    del renamed.supported_generation_methods[:]
    renamed.supported_generation_methods.append("generateText")
    assert categories(renamed, "text") == harm.TEXT_CATEGORIES
    assert categories(GEMINI, "unsafe:violence:low") == [
        *harm.CONTENT_CATEGORIES,
        safety_pb2.HARM_CATEGORY_VIOLENCE,
    ]
