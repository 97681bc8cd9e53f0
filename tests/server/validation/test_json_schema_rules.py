"""The JSON Schema documents of a content request (google.protobuf.Value): each excludes its
Schema-typed twin, GenerationConfig's needs application/json, and none may hold NaN or
Infinity; a valid one reaches the engine as the answer's schema."""

from __future__ import annotations

import json
import math
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2

from tests.server.conftest import violated_fields
from textgen.server.validation.generation_rules import CONTENT_RULES
from textgen.server.validation.json_rules import finite_numbers
from textgen.server.validation.plan import violations
from textgen.server.validation.rules import CrossRule

GEMINI = "models/gemini-1.5-flash"
JSON = "application/json"
CITY = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "founded": {"type": "integer", "minimum": 1800, "maximum": 1900},
    },
    "required": ["city", "founded"],
}


def value(document: object) -> struct_pb2.Value:
    """A google.protobuf.Value holding a JSON document."""
    found = struct_pb2.Value()
    json_format.Parse(json.dumps(document), found)
    return found


def nan_schema() -> struct_pb2.Value:
    """An object schema with a NaN bound nested inside a list."""
    found = value({"type": "object", "anyOf": [{"type": "number", "maximum": 1}]})
    nested = found.struct_value.fields["anyOf"].list_value.values[0]
    nested.struct_value.fields["maximum"].number_value = math.nan
    return found


def request(
    config: generation_pb2.GenerationConfig | None = None,
    *declarations: content_pb2.FunctionDeclaration,
) -> model_service_pb2.GenerateContentRequest:
    built = model_service_pb2.GenerateContentRequest(
        model=GEMINI,
        contents=[content_pb2.Content(role="user", parts=[content_pb2.Part(text="A city?")])],
    )
    if config is not None:
        built.generation_config.CopyFrom(config)
    if declarations:
        built.tools.add().function_declarations.extend(declarations)
    return built


def declaration(**fields: Any) -> content_pb2.FunctionDeclaration:
    fields.setdefault("name", "lookup")
    fields.setdefault("description", "Finds a city.")
    return content_pb2.FunctionDeclaration(**fields)


OBJECT = content_pb2.Schema(type=content_pb2.OBJECT)
RULE_CASES = [
    pytest.param(
        generation_pb2.GenerationConfig(
            response_mime_type=JSON, response_schema=OBJECT, response_json_schema=value(CITY)
        ),
        ["generation_config.response_json_schema"],
        id="with-response_schema",
    ),
    pytest.param(
        generation_pb2.GenerationConfig(response_json_schema=value(CITY)),
        ["generation_config.response_json_schema"],
        id="without-mime-type",
    ),
    pytest.param(
        generation_pb2.GenerationConfig(
            response_mime_type="text/plain", response_json_schema=value(CITY)
        ),
        ["generation_config.response_json_schema"],
        id="with-text-mime-type",
    ),
    pytest.param(
        generation_pb2.GenerationConfig(response_mime_type=JSON, response_json_schema=nan_schema()),
        ["generation_config.response_json_schema"],
        id="nan",
    ),
    pytest.param(
        generation_pb2.GenerationConfig(response_json_schema_ordered=value(CITY)),
        ["generation_config.response_json_schema_ordered"],
        id="ordered-without-mime-type",
    ),
    pytest.param(
        generation_pb2.GenerationConfig(
            response_mime_type=JSON,
            response_schema=OBJECT,
            response_json_schema_ordered=value({"type": "number", "minimum": math.inf}),
        ),
        [
            "generation_config.response_json_schema_ordered",
            "generation_config.response_json_schema_ordered",
        ],
        id="ordered-with-response_schema-and-infinity",
    ),
    pytest.param(
        generation_pb2.GenerationConfig(
            response_mime_type=JSON,
            response_json_schema=value(CITY),
            response_json_schema_ordered=value(CITY),
        ),
        ["generation_config.response_json_schema_ordered"],
        id="both-fields",
    ),
]


@pytest.mark.parametrize(("config", "paths"), RULE_CASES)
async def test_response_json_schema_rules(
    models: Any, config: generation_pb2.GenerationConfig, paths: list[str]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateContent(request(config))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == paths


DECLARATION_CASES = [
    pytest.param(
        declaration(parameters=OBJECT, parameters_json_schema=value(CITY)),
        "tools[0].function_declarations[1].parameters_json_schema",
        id="parameters-twice",
    ),
    pytest.param(
        declaration(response=OBJECT, response_json_schema=value({"type": "string"})),
        "tools[0].function_declarations[1].response_json_schema",
        id="response-twice",
    ),
    pytest.param(
        declaration(parameters_json_schema=nan_schema()),
        "tools[0].function_declarations[1].parameters_json_schema",
        id="nan-parameters",
    ),
    pytest.param(
        declaration(response_json_schema=value({"maximum": -math.inf})),
        "tools[0].function_declarations[1].response_json_schema",
        id="infinite-response",
    ),
]


@pytest.mark.parametrize(("second", "path"), DECLARATION_CASES)
async def test_function_declaration_json_schema_rules(
    models: Any, second: content_pb2.FunctionDeclaration, path: str
) -> None:
    first = declaration(parameters_json_schema=value(CITY))  # valid, so only the second fails
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateContent(request(None, first, second))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == [path]


async def test_stream_and_count_tokens_apply_the_rules(models: Any) -> None:
    bad = request(generation_pb2.GenerationConfig(response_json_schema=value(CITY)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in models.StreamGenerateContent(bad):
            pass
    assert violated_fields(caught.value) == ["generation_config.response_json_schema"]
    # CountTokens checks the contents and tools of a whole request (not its sampling).
    twice = declaration(parameters=OBJECT, parameters_json_schema=value(CITY))
    counted = model_service_pb2.CountTokensRequest(
        model=GEMINI, generate_content_request=request(None, twice)
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.CountTokens(counted)
    assert violated_fields(caught.value) == [
        "generate_content_request.tools[0].function_declarations[0].parameters_json_schema"
    ]


@pytest.mark.parametrize("field", ["response_json_schema", "response_json_schema_ordered"])
async def test_the_answer_follows_the_json_schema(models: Any, field: str) -> None:
    config = generation_pb2.GenerationConfig(response_mime_type=JSON)
    getattr(config, field).CopyFrom(value(CITY))
    response = await models.GenerateContent(request(config))
    answer = json.loads(response.candidates[0].content.parts[0].text)
    assert set(answer) == {"city", "founded"}
    assert isinstance(answer["city"], str)
    assert isinstance(answer["founded"], int)
    assert 1800 <= answer["founded"] <= 1900


async def test_upstream_function_fields_are_accepted(models: Any) -> None:
    """behavior, thought_signature, will_continue, scheduling and response parts are read
    without complaint (the fake engine ignores them)."""
    declared = declaration(
        parameters_json_schema=value(CITY),
        response_json_schema=value({"type": "object"}),
        behavior=content_pb2.FunctionDeclaration.NON_BLOCKING,
    )
    answer = content_pb2.FunctionResponse(
        name="lookup",
        will_continue=True,
        scheduling=content_pb2.FunctionResponse.WHEN_IDLE,
        parts=[
            content_pb2.FunctionResponsePart(
                inline_data=content_pb2.FunctionResponseBlob(mime_type="image/png", data=b"png")
            )
        ],
    )
    answer.response.update({"city": "Oslo"})
    built = request(None, declared)
    call = content_pb2.Part(
        function_call=content_pb2.FunctionCall(name="lookup"), thought_signature=b"\x00sig"
    )
    built.contents.add(role="model", parts=[call])
    built.contents.add(role="user", parts=[content_pb2.Part(function_response=answer)])
    response = await models.GenerateContent(built)
    assert response.candidates[0].content.parts[0].text


def test_finite_numbers_looks_through_objects_and_lists() -> None:
    assert finite_numbers(value(CITY))
    assert finite_numbers(value([1, [2.5, {"a": None, "b": True}], "x"]))
    assert not finite_numbers(nan_schema())
    deep = value({"a": [{"b": [0]}]})
    deep.struct_value.fields["a"].list_value.values[0].struct_value.fields["b"].list_value.values[
        0
    ].number_value = math.inf
    assert not finite_numbers(deep)


def test_valid_documents_pass_the_content_rules() -> None:
    config = generation_pb2.GenerationConfig(
        response_mime_type=JSON, response_json_schema=value(CITY)
    )
    fine = request(config, declaration(parameters_json_schema=value(CITY), response=OBJECT))
    assert violations(fine, CONTENT_RULES) == []


def test_cross_rule_within_checks_each_nested_message() -> None:
    rule = CrossRule(
        "name",
        lambda declared: declared.name != "bad",
        "is bad",
        within="tools[].function_declarations[]",
    )
    built = request(None, declaration(), declaration(name="bad"))
    built.tools.add().function_declarations.add(name="bad")
    assert [found.field for found in violations(built, [rule], "inner")] == [
        "inner.tools[0].function_declarations[1].name",
        "inner.tools[1].function_declarations[0].name",
    ]
    config_rule = CrossRule(
        "top_k", lambda config: config.top_k != 3, "not 3", within="generation_config"
    )
    assert violations(request(), [config_rule]) == []  # no generation_config: nothing to check
    with_config = request(generation_pb2.GenerationConfig(top_k=3))
    assert [found.field for found in violations(with_config, [config_rule])] == [
        "generation_config.top_k"
    ]


def test_cross_rules_with_one_within_share_a_walk_and_keep_every_failure() -> None:
    within = "tools[].function_declarations[]"
    named = CrossRule("name", lambda d: d.name != "bad", "is bad", within=within)
    described = CrossRule("description", lambda d: d.description != "", "is empty", within=within)
    built = request(None, declaration(name="bad", description=""), declaration())
    assert [(v.field, v.description) for v in violations(built, [named, described])] == [
        ("tools[0].function_declarations[0].name", "is bad"),
        ("tools[0].function_declarations[0].description", "is empty"),
    ]


def test_when_set_skips_the_check_while_the_field_is_unset() -> None:
    def never(_: object) -> bool:
        raise AssertionError("checked although top_k is unset")

    guarded = CrossRule("top_k", never, "unused", when_set=True)
    assert violations(generation_pb2.GenerationConfig(), [guarded]) == []
    failing = CrossRule("top_k", lambda config: config.top_k < 3, "below 3", when_set=True)
    config = generation_pb2.GenerationConfig(top_k=5)
    assert [v.field for v in violations(config, [failing])] == ["top_k"]
