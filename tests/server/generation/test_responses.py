"""Responses written from verdicts: SafetyRating messages with `blocked` set where a rating
blocks, SafetyFeedback naming the setting reached, PromptFeedback for a blocked prompt."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2, safety_pb2, text_pb2

from textgen.server.engine import GeneratedCandidate, HarmRating
from textgen.server.generation import responses
from textgen.server.generation.resolution import ResolvedModel
from textgen.server.generation.responses import add_ratings, content_response, text_response
from textgen.server.generation.safety import TEXT_DEFAULT_CATEGORIES, SafetyPolicy, Verdict
from textgen.server.generation.screened import ScreenedCandidate
from textgen.testing.fake_engine.catalog import default_model

Rating = safety_pb2.SafetyRating
Setting = safety_pb2.SafetySetting
VIOLENCE = safety_pb2.HARM_CATEGORY_VIOLENCE
TOXICITY = safety_pb2.HARM_CATEGORY_TOXICITY
POLICY = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
SAFE = POLICY.judge([HarmRating(VIOLENCE, Rating.NEGLIGIBLE), HarmRating(TOXICITY, Rating.LOW)])
GEMINI = default_model("models/gemini-1.5-flash")
UNSAFE = POLICY.judge([HarmRating(VIOLENCE, Rating.HIGH), HarmRating(TOXICITY, Rating.LOW)])


def written(message_type: type[Message], verdict: Verdict) -> list[tuple[int, int, bool]]:
    message: Any = message_type()
    add_ratings(message, verdict)
    return [(r.category, r.probability, r.blocked) for r in message.safety_ratings]


def test_ratings_are_written_in_order_with_blocked_set_on_the_blocking_ones() -> None:
    assert written(text_pb2.TextCompletion, SAFE) == [
        (VIOLENCE, Rating.NEGLIGIBLE, False),
        (TOXICITY, Rating.LOW, False),
    ]
    assert written(text_pb2.TextCompletion, UNSAFE) == [
        (VIOLENCE, Rating.HIGH, True),
        (TOXICITY, Rating.LOW, False),
    ]
    # The same verdict into another message type: that type's own field.
    assert written(generation_pb2.Candidate, UNSAFE) == written(text_pb2.TextCompletion, UNSAFE)


def test_ratings_are_appended_and_other_fields_kept() -> None:
    completion = text_pb2.TextCompletion(output="words")
    completion.safety_ratings.add(category=TOXICITY, probability=Rating.HIGH)
    add_ratings(completion, SAFE)
    assert completion.output == "words"
    assert [r.category for r in completion.safety_ratings] == [TOXICITY, VIOLENCE, TOXICITY]


def test_written_ratings_are_kept_for_a_bounded_number_of_verdicts() -> None:
    for count in range(1, 700):
        verdict = POLICY.judge([HarmRating(VIOLENCE, Rating.NEGLIGIBLE)] * count)
        assert len(written(text_pb2.TextCompletion, verdict)) == count
    assert len(responses._ENCODED) <= 512


def _candidate(index: int, verdict: Verdict) -> ScreenedCandidate:
    generated = GeneratedCandidate([content_pb2.Part(text=f"answer {index}")], token_count=2)
    return ScreenedCandidate(index, generated, verdict)


def test_text_response_filters_blocked_candidates_with_feedback() -> None:
    response = text_response(SAFE, [_candidate(0, SAFE), _candidate(1, UNSAFE)])
    assert [c.output for c in response.candidates] == ["answer 0"]
    assert [r.blocked for r in response.candidates[0].safety_ratings] == [False, False]
    assert [f.message for f in response.filters] == ["Candidate 1 was blocked for safety."]
    (feedback,) = response.safety_feedback
    assert feedback.rating == Rating(category=VIOLENCE, probability=Rating.HIGH, blocked=True)
    assert feedback.setting == Setting(category=VIOLENCE, threshold=Setting.BLOCK_MEDIUM_AND_ABOVE)


def test_a_blocked_prompt_gives_feedback_and_no_candidates() -> None:
    text = text_response(UNSAFE, [])
    assert not text.candidates
    assert [f.message for f in text.filters] == ["The prompt was blocked for safety."]
    assert [f.rating.category for f in text.safety_feedback] == [VIOLENCE]
    model = ResolvedModel(GEMINI.name, GEMINI)
    content = content_response(model, UNSAFE, [], 5)
    feedback = content.prompt_feedback
    assert feedback.block_reason == model_service_pb2.GenerateContentResponse.PromptFeedback.SAFETY
    assert [(r.category, r.blocked) for r in feedback.safety_ratings] == [
        (VIOLENCE, True),
        (TOXICITY, False),
    ]


def test_a_blocked_content_candidate_keeps_its_ratings_and_finish_reason_safety() -> None:
    model = ResolvedModel(GEMINI.name, GEMINI)
    response = content_response(model, SAFE, [_candidate(0, UNSAFE), _candidate(1, SAFE)], 5)
    blocked, shown = response.candidates
    assert blocked.finish_reason == generation_pb2.Candidate.SAFETY
    assert not blocked.content.parts
    assert [r.blocked for r in blocked.safety_ratings] == [True, False]
    assert shown.content.parts[0].text == "answer 1"
    assert [r.blocked for r in shown.safety_ratings] == [False, False]
