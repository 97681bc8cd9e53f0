"""FakeEngine log probabilities: given only when asked, the same for the same request, one
step per token with `logprobs` alternatives, every value at most zero."""

from __future__ import annotations

import math
from typing import Any

from textgen.v1 import content_pb2

from textgen.server.engine import GeneratedCandidate
from textgen.testing.fake_engine import tokenizer
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input

GEMINI = default_model("models/gemini-1.5-flash")


async def generated(seed: int = 0, **params: Any) -> list[GeneratedCandidate]:
    request = generation_input(GEMINI, "Tell me something.", temperature=1.0, **params)
    return (await FakeEngine(seed=seed).generate(request)).candidates


def check(candidate: GeneratedCandidate, top: int) -> None:
    result = candidate.logprobs_result
    assert result is not None and candidate.avg_logprobs is not None
    tokens = tokenizer.tokens(candidate.text())
    assert [chosen.token for chosen in result.chosen_candidates] == tokens
    assert len(result.top_candidates) == len(tokens)
    for chosen, step in zip(result.chosen_candidates, result.top_candidates, strict=True):
        assert chosen.log_probability <= 0
        assert len(step.candidates) == top
        values = [entry.log_probability for entry in step.candidates]
        assert values == sorted(values, reverse=True) and all(value <= 0 for value in values)
        assert sum(math.exp(value) for value in values) < 1
        if top:
            assert (chosen.token, chosen.log_probability) in [
                (entry.token, entry.log_probability) for entry in step.candidates
            ]
    total = sum(chosen.log_probability for chosen in result.chosen_candidates)
    assert math.isclose(result.log_probability_sum, total, rel_tol=1e-5)
    assert math.isclose(candidate.avg_logprobs, total / len(tokens), rel_tol=1e-5)


async def test_none_unless_asked() -> None:
    for candidate in await generated():
        assert candidate.logprobs_result is None and candidate.avg_logprobs is None


async def test_each_token_with_its_top_alternatives() -> None:
    for top in (0, 1, 5, 20):
        for candidate in await generated(logprobs=top, candidate_count=2):
            check(candidate, top)


async def test_the_same_request_gives_the_same_numbers_and_the_seed_changes_them() -> None:
    first = await generated(seed=3, logprobs=4)
    assert first == await generated(seed=3, logprobs=4)
    other = await generated(seed=4, logprobs=4)
    assert first[0].logprobs_result != other[0].logprobs_result


async def test_json_answers_and_function_calls_have_them_too() -> None:
    for candidate in await generated(logprobs=2, response_mime_type="application/json"):
        check(candidate, 2)
    tool = content_pb2.Tool(function_declarations=[content_pb2.FunctionDeclaration(name="go")])
    request = generation_input(GEMINI, "go now", tools=[tool], logprobs=1)
    called = (await FakeEngine().generate(request)).candidates[0]
    assert called.logprobs_result is not None
    assert len(called.logprobs_result.chosen_candidates) == called.token_count


async def test_a_stream_gives_them_in_its_final_item() -> None:
    request = generation_input(GEMINI, "Tell me something.", temperature=1.0, logprobs=3)
    items = [item async for item in FakeEngine().stream(request)]
    assert all(item.candidates[0].logprobs_result is None for item in items[:-1])
    whole = (await FakeEngine().generate(request)).candidates[0]
    final = items[-1].candidates[0]
    assert final.logprobs_result == whole.logprobs_result
    assert final.avg_logprobs == whole.avg_logprobs
