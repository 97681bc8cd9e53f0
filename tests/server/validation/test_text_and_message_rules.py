"""GenerateText's Vertex AI settings (penalties, logprobs, logit_bias) and generateMessage's
rule that the messages alternate between two authors, checked as rules and through a server."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from textgen.v1 import generation_pb2, message_pb2, model_service_pb2, text_pb2

from tests.server.conftest import violated_fields
from textgen.server.validation.generation_rules import (
    CONTENT_SAMPLING_RULES,
    MESSAGE_RULES,
    TEXT_RULES,
)
from textgen.server.validation.plan import violations

TEXT = "models/text-bison-001"
CHAT = "models/chat-bison-001"


def text_request(**fields: Any) -> model_service_pb2.GenerateTextRequest:
    return model_service_pb2.GenerateTextRequest(
        model=TEXT, prompt=text_pb2.TextPrompt(text="hello"), **fields
    )


def message_request(*authors: str) -> model_service_pb2.GenerateMessageRequest:
    messages = [message_pb2.Message(author=a, content=f"turn {i}") for i, a in enumerate(authors)]
    return model_service_pb2.GenerateMessageRequest(
        model=CHAT, prompt=message_pb2.MessagePrompt(messages=messages)
    )


def paths(request: Any, rules: Any) -> list[str]:
    return [violation.field for violation in violations(request, rules)]


# --- GenerateText's settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"presence_penalty": -2.0, "frequency_penalty": 1.99},
        {"presence_penalty": 0.0, "frequency_penalty": 0.0},
        {"logprobs": 0},
        {"logprobs": 5},
        {"logit_bias": {"the": -100.0, "cat": 100.0}},
        {"seed": -7},
        {"seed": 2**31 - 1},
    ],
)
def test_settings_in_range_pass(fields: dict[str, Any]) -> None:
    assert paths(text_request(**fields), TEXT_RULES) == []


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"presence_penalty": 2.0}, "presence_penalty"),  # up to, not including, 2
        ({"presence_penalty": -2.5}, "presence_penalty"),
        ({"frequency_penalty": float("nan")}, "frequency_penalty"),
        ({"frequency_penalty": 3.0}, "frequency_penalty"),
        ({"logprobs": 6}, "logprobs"),
        ({"logprobs": -1}, "logprobs"),
        ({"logit_bias": {"the": 100.5}}, 'logit_bias["the"]'),
        ({"logit_bias": {"a b": float("-inf")}}, 'logit_bias["a b"]'),
        ({"logit_bias": {"": 1.0}}, 'logit_bias[""]'),
        ({"logit_bias": {f"t{i}": 1.0 for i in range(101)}}, "logit_bias"),
    ],
)
def test_settings_out_of_range_name_their_field(fields: dict[str, Any], path: str) -> None:
    assert paths(text_request(**fields), TEXT_RULES) == [path]


def test_every_bad_bias_is_reported_once() -> None:
    request = text_request(logit_bias={"ok": 1.0, "high": 101.0, "low": -101.0})
    assert paths(request, TEXT_RULES) == ['logit_bias["high"]', 'logit_bias["low"]']


def test_generation_config_penalties_follow_the_same_range() -> None:
    config = generation_pb2.GenerationConfig(presence_penalty=2.0, frequency_penalty=-1.0)
    assert paths(config, CONTENT_SAMPLING_RULES) == ["presence_penalty"]


async def test_a_server_answers_each_bad_setting_with_its_field(models: Any) -> None:
    request = text_request(presence_penalty=5.0, logprobs=9, logit_bias={"x": 500.0})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateText(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(violated_fields(caught.value)) == sorted(
        ["presence_penalty", "logprobs", 'logit_bias["x"]']
    )


async def test_a_server_honours_logprobs_on_text(models: Any) -> None:
    answer = await models.GenerateText(text_request(logprobs=2, candidate_count=2))
    assert len(answer.candidates) == 2
    for candidate in answer.candidates:
        result = candidate.logprobs_result
        assert candidate.HasField("avg_logprobs") and candidate.avg_logprobs < 0
        assert len(result.chosen_candidates) == len(result.top_candidates) > 0
        assert all(len(step.candidates) == 2 for step in result.top_candidates)
    plain = await models.GenerateText(text_request())
    assert not plain.candidates[0].HasField("logprobs_result")
    assert not plain.candidates[0].HasField("avg_logprobs")


# --- messages alternate between two authors ----------------------------------------------


@pytest.mark.parametrize(
    "authors",
    [("0",), ("0", "1"), ("user", "model", "user"), ("a", "b", "a", "b", "a"), ("1", "0")],
)
def test_alternating_authors_pass(authors: tuple[str, ...]) -> None:
    assert paths(message_request(*authors), MESSAGE_RULES) == []


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        (("0", "0"), ["prompt.messages[1].author"]),
        (("0", "1", "1"), ["prompt.messages[2].author"]),
        (("0", "1", "2"), ["prompt.messages[2].author"]),
        (("a", "b", "a", "c", "a"), ["prompt.messages[3].author"]),
        (("", ""), ["prompt.messages[1].author"]),  # unnamed authors are one author
        (("a", "a", "b", "b"), ["prompt.messages[1].author", "prompt.messages[3].author"]),
    ],
)
def test_a_message_that_breaks_the_alternation_is_named(
    authors: tuple[str, ...], expected: list[str]
) -> None:
    assert paths(message_request(*authors), MESSAGE_RULES) == expected


def test_the_violation_says_what_is_wrong() -> None:
    (again,) = violations(message_request("0", "1", "1"), MESSAGE_RULES)
    assert "'1' again" in again.description and "alternate" in again.description
    (third,) = violations(message_request("0", "1", "2"), MESSAGE_RULES)
    assert "third author, '2'" in third.description and "'0' and '1'" in third.description


async def test_generate_message_is_invalid_argument_on_the_author(models: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateMessage(message_request("user", "model", "model"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == ["prompt.messages[2].author"]
    answer = await models.GenerateMessage(message_request("user", "model", "user"))
    assert answer.candidates[0].author == "model"
