"""Screened streaming: each delta is rated as the next piece of its candidate's text, and the
verdicts are those of the whole text so far."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pytest
from textgen.v1 import generation_pb2, model_pb2, safety_pb2

from textgen.server.engine import (
    GenerationInput,
    GenerationOutput,
    HarmCategory,
    HarmRating,
    RatingStream,
)
from textgen.server.generation import screened
from textgen.server.generation.safety import CONTENT_DEFAULT_CATEGORIES, Block, SafetyPolicy
from textgen.testing.fake_engine import harm
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input

GEMINI = default_model("models/gemini-1.5-flash")
Setting = safety_pb2.SafetySetting


class WholeTextEngine(FakeEngine):
    """Rates all the text so far at every piece: what the stream's verdicts must equal."""

    async def rate(
        self,
        model: model_pb2.Model,
        text: str,
        categories: Sequence[HarmCategory],
        *,
        stream: RatingStream | None = None,
    ) -> Sequence[HarmRating]:
        return harm.rate(text if stream is None else stream.so_far(text), categories)


class RatingsAsked(FakeEngine):
    """Records every text it is asked to rate. With keep_all=False its candidates lose the
    last category of their own ratings."""

    def __init__(self, *, keep_all: bool = True) -> None:
        super().__init__()
        self.asked: list[str] = []
        self._keep_all = keep_all

    async def rate(
        self,
        model: model_pb2.Model,
        text: str,
        categories: Sequence[HarmCategory],
        *,
        stream: RatingStream | None = None,
    ) -> Sequence[HarmRating]:
        self.asked.append(text)
        return await super().rate(model, text, categories, stream=stream)

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        output = await super().generate(request)
        if not self._keep_all:
            for candidate in output.candidates:
                candidate.safety_ratings = candidate.safety_ratings[:-1]
        return output


class Delta(NamedTuple):
    candidate: int
    text: str
    finish_reason: int
    ratings: list[HarmRating]
    blocks: list[Block]


async def streamed(engine: FakeEngine, answer: str, policy: SafetyPolicy) -> list[Delta]:
    """Every screened delta of a two-candidate stream whose answers are `answer`."""
    request = generation_input(
        GEMINI, "go", system=f"respond: {answer}", candidate_count=2, max_output_tokens=200
    )
    return [
        Delta(
            item.index,
            item.candidate.text(),
            item.candidate.finish_reason,
            list(item.verdict.ratings),
            list(item.verdict.blocks),
        )
        async for batch in screened.stream(engine, request, policy)
        for item in batch
    ]


ANSWERS = [
    # A marker split across deltas (four tokens a delta) blocks the delta that completes it.
    "once unsafe:harassment:high and more words after it",
    # LOW blocks under the strict policy only; "lowest" is no level.
    "a b c unsafe:hate_speech:low then unsafe:hate_speech:lowest",
    # Markers inside a word never count, however the deltas cut them.
    "wordunsafe:harassment:high x:unsafe:any:high still fine",
    "plenty of words before the end unsafe:any:medium",
    "nothing to see here at all, only words and commas",
]
POLICIES = {
    "defaults": SafetyPolicy.build([], CONTENT_DEFAULT_CATEGORIES),
    "strict": SafetyPolicy.build(
        [
            Setting(category=category, threshold=Setting.BLOCK_LOW_AND_ABOVE)
            for category in CONTENT_DEFAULT_CATEGORIES
        ],
        CONTENT_DEFAULT_CATEGORIES,
    ),
}


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize("policy", POLICIES.values(), ids=list(POLICIES))
async def test_piecewise_verdicts_equal_whole_text_verdicts(
    answer: str, policy: SafetyPolicy
) -> None:
    assert await streamed(FakeEngine(), answer, policy) == await streamed(
        WholeTextEngine(), answer, policy
    )


async def test_split_marker_blocks_the_delta_that_completes_it() -> None:
    items = await streamed(FakeEngine(), ANSWERS[0], POLICIES["defaults"])
    first = [item for item in items if item.candidate == 0]
    assert [item.text for item in first] == ["once unsafe:harassment", ""]
    assert not first[0].blocks
    assert first[1].finish_reason == generation_pb2.Candidate.SAFETY
    assert first[1].blocks


async def test_each_piece_is_rated_once() -> None:
    engine = RatingsAsked()
    answer = " ".join(["word"] * 400)
    request = generation_input(GEMINI, "go", system=f"respond: {answer}")
    policy = POLICIES["defaults"]
    sent = [
        item.candidate.text()
        async for batch in screened.stream(engine, request, policy)
        for item in batch
    ]
    assert "".join(sent) == answer
    assert sum(len(text) for text in engine.asked) == len(answer)


@pytest.mark.parametrize("keep_all", [True, False])
async def test_unary_candidates_are_judged_on_their_own_ratings_when_complete(
    keep_all: bool,
) -> None:
    # A harassment marker in the answer blocks it either way; the engine is asked to rate
    # the candidate only when its own ratings lack a screened category.
    engine = RatingsAsked(keep_all=keep_all)
    answer = "fine " + harm.marker(safety_pb2.HARM_CATEGORY_HARASSMENT, "high")
    request = generation_input(GEMINI, "go", system=f"respond: {answer}")
    policy = SafetyPolicy.build([], CONTENT_DEFAULT_CATEGORIES)
    result = await screened.generate(engine, request, policy, policy.judge([]), 1)
    (item,) = result.candidates
    assert item.verdict.blocked
    assert [rating.category for rating in item.verdict.ratings] == list(policy.categories)
    expected = policy.judge(harm.rate(item.candidate.text(), policy.categories))
    assert list(item.verdict.ratings) == list(expected.ratings)
    assert engine.asked == ([] if keep_all else [item.candidate.text()])
