"""Every validation rule: INVALID_ARGUMENT with the exact field path, before any lookup."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from textgen.v1 import (
    content_pb2,
    generation_pb2,
    message_pb2,
    model_service_pb2,
    safety_pb2,
    text_pb2,
)

from tests.server.conftest import violated_fields
from textgen.server.validation.plan import violations
from textgen.server.validation.rules import Rule, at_least, count_between, non_empty

TEXT = "models/text-bison-001"
CHAT = "models/chat-bison-001"
GEMINI = "models/gemini-1.5-flash"
GECKO = "models/embedding-gecko-001"


def text_request(**fields: Any) -> model_service_pb2.GenerateTextRequest:
    fields.setdefault("model", TEXT)
    return model_service_pb2.GenerateTextRequest(prompt=text_pb2.TextPrompt(text="Hi"), **fields)


def content_request(**config: Any) -> model_service_pb2.GenerateContentRequest:
    return model_service_pb2.GenerateContentRequest(
        model=GEMINI,
        contents=[content_pb2.Content(role="user", parts=[content_pb2.Part(text="Hi")])],
        generation_config=generation_pb2.GenerationConfig(**config),
    )


def setting(category: int) -> safety_pb2.SafetySetting:
    return safety_pb2.SafetySetting(
        category=category,  # type: ignore[arg-type]
        threshold=safety_pb2.SafetySetting.BLOCK_ONLY_HIGH,
    )


TEXT_CASES = [
    ({"temperature": 1.5}, "temperature"),
    ({"temperature": -0.1}, "temperature"),
    ({"candidate_count": 0}, "candidate_count"),
    ({"candidate_count": 9}, "candidate_count"),
    ({"stop_sequences": ["a", "b", "c", "d", "e", "f"]}, "stop_sequences"),
    ({"max_output_tokens": 0}, "max_output_tokens"),
    ({"max_output_tokens": 5000}, "max_output_tokens"),  # over output_token_limit, after lookup
    ({"top_p": 1.5}, "top_p"),
    ({"top_k": 0}, "top_k"),
    ({"model": "bogus"}, "model"),
    ({"model": "models/"}, "model"),
    ({"model": GEMINI}, "model"),  # does not support generateText
    ({"safety_settings": [setting(8)]}, "safety_settings[0].category"),
    ({"safety_settings": [setting(3), setting(3)]}, "safety_settings[1].category"),
]


@pytest.mark.parametrize(("fields", "path"), TEXT_CASES)
async def test_generate_text_rules(models: Any, fields: dict[str, Any], path: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateText(text_request(**fields))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert path in violated_fields(caught.value)


CONTENT_CASES = [
    ({"temperature": 2.5}, "generation_config.temperature"),
    ({"top_p": -1}, "generation_config.top_p"),
    ({"top_k": 0}, "generation_config.top_k"),
    ({"candidate_count": 9}, "generation_config.candidate_count"),
    ({"max_output_tokens": 9000}, "generation_config.max_output_tokens"),
    ({"stop_sequences": list("abcdef")}, "generation_config.stop_sequences"),
    ({"response_mime_type": "text/html"}, "generation_config.response_mime_type"),
]


@pytest.mark.parametrize(("config", "path"), CONTENT_CASES)
async def test_generate_content_rules(models: Any, config: dict[str, Any], path: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateContent(content_request(**config))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert path in violated_fields(caught.value)


async def test_content_accepts_temperature_above_one(models: Any) -> None:
    response = await models.GenerateContent(content_request(temperature=1.8))
    assert response.candidates


async def test_content_safety_categories_are_7_to_11(models: Any) -> None:
    request = content_request()
    request.safety_settings.append(setting(3))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateContent(request)
    assert violated_fields(caught.value) == ["safety_settings[0].category"]


async def test_prompt_over_input_limit(models: Any) -> None:
    long_text = " ".join(["word"] * 9000)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateText(
            model_service_pb2.GenerateTextRequest(
                model=TEXT, prompt=text_pb2.TextPrompt(text=long_text)
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == ["prompt"]


async def test_message_rules(models: Any) -> None:
    request = model_service_pb2.GenerateMessageRequest(
        model=CHAT, prompt=message_pb2.MessagePrompt(), temperature=2
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateMessage(request)
    assert set(violated_fields(caught.value)) == {"temperature", "prompt.messages"}


async def test_message_method_must_be_supported(models: Any) -> None:
    request = model_service_pb2.GenerateMessageRequest(
        model=TEXT, prompt=message_pb2.MessagePrompt(messages=[message_pb2.Message(content="hi")])
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateMessage(request)
    assert violated_fields(caught.value) == ["model"]


async def test_batch_embed_text_limits(models: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.BatchEmbedText(
            model_service_pb2.BatchEmbedTextRequest(model=GECKO, texts=["x"] * 101)
        )
    assert violated_fields(caught.value) == ["texts"]
    both = model_service_pb2.BatchEmbedTextRequest(
        model=GECKO, texts=["x"], requests=[model_service_pb2.EmbedTextRequest(text="y")]
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.BatchEmbedText(both)
    assert violated_fields(caught.value) == ["requests"]


async def test_embed_rejects_tuned_model_names(models: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.EmbedText(model_service_pb2.EmbedTextRequest(model="tunedModels/x", text="a"))
    assert violated_fields(caught.value) == ["model"]


async def test_syntax_is_checked_before_lookup(models: Any) -> None:
    # Unknown model AND bad temperature: the syntactic error wins over NOT_FOUND.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateText(text_request(model="models/nope", temperature=5))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_rules_walk_repeated_elements() -> None:
    request = content_request()
    request.safety_settings.extend([setting(7), setting(0)])
    rule = Rule("safety_settings[].category", at_least(1), "required")
    found = violations(request, [rule])
    assert [v.field for v in found] == ["safety_settings[1].category"]


def test_rules_skip_unset_optionals() -> None:
    rule = Rule("temperature", at_least(5), "too low")
    assert violations(text_request(), [rule]) == []
    assert [v.field for v in violations(text_request(temperature=1), [rule])] == ["temperature"]


def test_a_rule_that_fails_on_a_default_runs_on_a_message_that_leaves_it_unset() -> None:
    # `model` has no presence: unset reads as "", which non_empty refuses, so the rule must
    # run although the message does not list the field as set.
    must_run = Rule("model", non_empty, "is required")
    assert [v.field for v in violations(text_request(model=""), [must_run])] == ["model"]
    # A rule that the default passes has nothing to find while the field stays unset...
    at_most_two = Rule("stop_sequences", count_between(0, 2), "too many")
    assert violations(text_request(), [at_most_two]) == []
    # ...and runs once the field is set.
    found = violations(text_request(stop_sequences=["a", "b", "c"]), [at_most_two])
    assert [v.field for v in found] == ["stop_sequences"]


def test_violations_come_in_the_order_of_the_rules() -> None:
    # The fields are set in another order than the rules name them; the report follows
    # the rules, whichever field the message lists first.
    rules = [
        Rule("top_k", at_least(1), "low"),
        Rule("prompt.text", non_empty, "empty"),
        Rule("model", non_empty, "is required"),
        Rule("temperature", at_least(5), "too low"),
    ]
    request = model_service_pb2.GenerateTextRequest(
        temperature=1, top_k=0, prompt=text_pb2.TextPrompt(text="")
    )
    assert [v.field for v in violations(request, rules)] == [
        "top_k",
        "prompt.text",
        "model",
        "temperature",
    ]
    # Reported the same way again, from the plan kept for this rule list.
    assert [v.field for v in violations(request, rules)] == [
        "top_k",
        "prompt.text",
        "model",
        "temperature",
    ]


def test_a_path_through_single_fields_names_the_first_unset_one_when_required() -> None:
    rule = Rule("prompt.text", non_empty, "required", required=True)
    request = model_service_pb2.GenerateTextRequest(model=TEXT)
    found = violations(request, [rule])
    assert [(v.field, v.reason) for v in found] == [("prompt", "REQUIRED_FIELD")]
    assert violations(request, [Rule("prompt.text", non_empty, "empty")]) == []


BOUND_RULES = [
    Rule("prompt", lambda _: True, "is required", required=True),
    Rule("prompt", lambda prompt: bool(prompt.text), "needs text"),
    Rule("prompt.text", non_empty, "must not be empty"),
    Rule("prompt.text", non_empty, "must not be empty", required=True),
    Rule("temperature", lambda value: 0 <= value <= 1, "must be between 0 and 1"),
    Rule("temperature", lambda value: value < 2, "below two", required=True),
    Rule("candidate_count", at_least(1), "must be at least 1"),
    Rule("stop_sequences", count_between(0, 2), "at most 2"),
    Rule("no_such_field", non_empty, "never checked"),
    Rule("prompt.no_such_field", non_empty, "never checked"),
    Rule("model.text", non_empty, "a path through a scalar: never checked"),
]
BOUND_REQUESTS = [
    model_service_pb2.GenerateTextRequest(),
    model_service_pb2.GenerateTextRequest(prompt=text_pb2.TextPrompt()),
    model_service_pb2.GenerateTextRequest(
        model="models/x", prompt=text_pb2.TextPrompt(text="hi"), temperature=0.5
    ),
    model_service_pb2.GenerateTextRequest(
        temperature=3, candidate_count=0, stop_sequences=["a", "b", "c"]
    ),
]


@pytest.mark.parametrize("rule", BOUND_RULES, ids=repr)
@pytest.mark.parametrize("prefix", ["", "requests[2]"])
def test_a_rule_bound_to_a_type_finds_what_it_finds_unbound(rule: Rule, prefix: str) -> None:
    descriptor = model_service_pb2.GenerateTextRequest.DESCRIPTOR
    bound = rule.bound(descriptor)
    found = []
    for request in BOUND_REQUESTS:
        if rule.field != "model.text":  # unbound, a path through a scalar is a mistake
            assert bound(request, prefix) == rule.violations(request, prefix), request
        found.extend(bound(request, prefix))
    # The rules above that can fail do fail on some request, at the prefixed path.
    if "never" not in rule.message:
        assert found
        assert all(v.field.startswith(prefix) for v in found)
    else:
        assert not found
