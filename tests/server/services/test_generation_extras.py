"""ModelService and batch answers for the newer upstream fields: JSON Schema documents of any
shape (boolean subschemas included), log probabilities, and token counts by modality."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

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
