"""ModelService and batch answers for the newer upstream fields: JSON Schema documents of any
shape (boolean subschemas included), log probabilities, and token counts by modality."""

from __future__ import annotations

import json
import math
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

from tests.server.conftest import violated_fields
from tests.server.env import TEXT_MODEL, Env
from tests.server.jobs.test_batch import results_of, run_immediately, schema

GEMINI = "models/gemini-1.5-flash"
JSON = "application/json"
# Boolean subschemas: `true` accepts anything, `false` nothing (so "never" is left out).
BOOLEANS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "anything": True,
        "never": False,
        "empty": {"type": "array", "items": False},
        "nested": {"type": "object", "properties": {"x": True}, "additionalProperties": True},
        "ref": {"$ref": "#/$defs/word"},
    },
    "required": ["anything", "empty", "ref"],
    "$defs": {"word": {"type": "string", "minLength": 3}},
}


def content_request(**config: Any) -> model_service_pb2.GenerateContentRequest:
    return model_service_pb2.GenerateContentRequest(
        model=GEMINI,
        contents=[content_pb2.Content(role="user", parts=[content_pb2.Part(text="Hi there.")])],
        generation_config=generation_pb2.GenerationConfig(**config),
    )


def json_document(value: Any) -> struct_pb2.Value:
    document = struct_pb2.Value()
    json_format.ParseDict(value, document)
    return document


def check_booleans(value: Any) -> None:
    assert isinstance(value, dict)
    assert "never" not in value
    assert {"anything", "empty", "ref"} <= set(value)
    assert value["empty"] == []
    assert isinstance(value["ref"], str) and len(value["ref"]) >= 3


@pytest.mark.parametrize("field", ["response_json_schema", "response_json_schema_ordered"])
async def test_boolean_subschemas_are_answered_not_internal(models: Any, field: str) -> None:
    request = content_request(response_mime_type=JSON, **{field: json_document(BOOLEANS)})
    response = await models.GenerateContent(request)
    check_booleans(json.loads(response.candidates[0].content.parts[0].text))
    streamed = [item async for item in models.StreamGenerateContent(request)]
    text = "".join(part.text for item in streamed for part in item.candidates[0].content.parts)
    check_booleans(json.loads(text))


async def test_a_batch_json_schema_with_boolean_subschemas_completes(env: Env) -> None:
    dataset_id = await env.prompts(["describe something", "and another"])
    request = batch_pb2.BatchCompletionRequest(
        model_uri=TEXT_MODEL, source_dataset_id=dataset_id, json_schema=schema(BOOLEANS)
    )
    for result in await results_of(env, await run_immediately(env, request)):
        check_booleans(json.loads(result.completion))


async def test_logprobs_when_asked(models: Any) -> None:
    plain = await models.GenerateContent(content_request(temperature=1.0, seed=5))
    assert not plain.candidates[0].HasField("logprobs_result")
    assert plain.candidates[0].avg_logprobs == 0
    request = content_request(temperature=1.0, seed=5, response_logprobs=True, logprobs=3)
    response = await models.GenerateContent(request)
    candidate = response.candidates[0]
    result = candidate.logprobs_result
    assert candidate.content.parts[0].text == plain.candidates[0].content.parts[0].text
    assert len(result.chosen_candidates) == candidate.token_count == len(result.top_candidates)
    assert all(len(step.candidates) == 3 for step in result.top_candidates)
    assert all(chosen.log_probability <= 0 for chosen in result.chosen_candidates)
    assert candidate.avg_logprobs < 0
    assert math.isclose(
        candidate.avg_logprobs, result.log_probability_sum / candidate.token_count, rel_tol=1e-5
    )
    assert await models.GenerateContent(request) == response  # seeded: the same numbers
    streamed = [item async for item in models.StreamGenerateContent(request)]
    assert streamed[-1].candidates[0].logprobs_result == result


async def test_response_logprobs_without_logprobs_lists_no_alternatives(models: Any) -> None:
    response = await models.GenerateContent(content_request(response_logprobs=True))
    result = response.candidates[0].logprobs_result
    assert len(result.chosen_candidates) == response.candidates[0].token_count
    assert all(len(step.candidates) == 0 for step in result.top_candidates)


@pytest.mark.parametrize("top", [-1, 21])
async def test_logprobs_outside_0_to_20_is_invalid(models: Any, top: int) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateContent(content_request(response_logprobs=True, logprobs=top))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == ["generation_config.logprobs"]


async def test_usage_and_count_tokens_are_broken_down_as_text(models: Any) -> None:
    response = await models.GenerateContent(content_request())
    usage = response.usage_metadata
    assert [(d.modality, d.token_count) for d in usage.prompt_tokens_details] == [
        (content_pb2.TEXT, usage.prompt_token_count)
    ]
    assert [(d.modality, d.token_count) for d in usage.candidates_tokens_details] == [
        (content_pb2.TEXT, usage.candidates_token_count)
    ]
    assert usage.candidates_token_count > 0
    counted = await models.CountTokens(
        model_service_pb2.CountTokensRequest(model=GEMINI, contents=content_request().contents)
    )
    assert counted.total_tokens > 0
    assert [(d.modality, d.token_count) for d in counted.prompt_tokens_details] == [
        (content_pb2.TEXT, counted.total_tokens)
    ]
