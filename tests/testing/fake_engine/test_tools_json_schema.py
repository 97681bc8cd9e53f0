"""FakeEngine function calling with parameters_json_schema: arguments are filled from a JSON
Schema document by the same rules as from a parameters Schema."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2
from textgen.v1 import content_pb2

from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input

GEMINI = default_model("models/gemini-2.0-flash-001")


def declaration(name: str, document: Any) -> content_pb2.FunctionDeclaration:
    value = struct_pb2.Value()
    json_format.ParseDict(document, value)
    return content_pb2.FunctionDeclaration(name=name, parameters_json_schema=value)


async def call_args(prompt: str, *declarations: content_pb2.FunctionDeclaration) -> Any:
    tools = [content_pb2.Tool(function_declarations=declarations)]
    output = await FakeEngine().generate(generation_input(GEMINI, prompt, tools=tools))
    call = output.candidates[0].parts[0].function_call
    return call.name, json_format.MessageToDict(call.args)


async def test_json_schema_parameters_fill_like_a_schema() -> None:
    weather = declaration(
        "get_weather",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"enum": ["celsius", "fahrenheit"]},
                "days": {"type": ["integer", "null"]},
                "alerts": {"type": "boolean"},
            },
            "required": ["city"],
        },
    )
    found = await call_args('Use get_weather for "Paris" in fahrenheit for 3 days, yes', weather)
    assert found == (
        "get_weather",
        {"city": "Paris", "unit": "fahrenheit", "days": 3, "alerts": True},
    )


async def test_refs_booleans_and_const_in_json_schema_parameters() -> None:
    add = declaration(
        "add",
        {
            "$defs": {"operand": {"type": "number"}},
            "type": "object",
            "propertyOrdering": ["b", "a"],
            "properties": {
                "a": {"$ref": "#/$defs/operand"},
                "b": {"allOf": [{"$ref": "#/$defs/operand"}]},
                "never": False,
                "note": True,
                "version": {"const": 2},
                "terms": {"type": "array", "items": False},
                "options": {"anyOf": [False, {"properties": {"exact": {"type": "boolean"}}}]},
            },
        },
    )
    name, args = await call_args('add 2 and 3 "carefully"', add)
    assert name == "add"
    assert args == {
        "b": 2,
        "a": 3,
        "note": "carefully",
        "version": 2,
        "terms": [],
        "options": {"exact": False},
    }


async def test_a_self_referring_json_schema_ends() -> None:
    nested = declaration("nest", {"type": "object", "properties": {"inner": {"$ref": "#"}}})
    name, args = await call_args("nest please", nested)
    depth = 0
    while isinstance(args, dict) and "inner" in args:
        args, depth = args["inner"], depth + 1
    assert name == "nest" and 1 < depth < 20
