"""Python callables as tools: declarations, the automatic loop, and turning it off."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal, TypedDict

import pytest
from google.protobuf import struct_pb2
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2

from tests.client.conftest import Api
from tests.client.stub_server import StubServer
from textgen import _functions, _schema, errors
from textgen.resources._content import GENERATE_CONTENT
from textgen.types import AutomaticFunctionCallingConfig, GenerateContentConfig

pb = model_service_pb2
S = content_pb2.Schema


def get_weather(location: str, unit: Literal["C", "F"] = "C") -> dict[str, Any]:
    """Returns the current weather.

    Args:
        location: The city and state, e.g. San Francisco, CA
        unit: The temperature unit.
    """
    return {"location": location, "forecast": "sunny", "unit": unit}


def add(a: int, b: int) -> int:
    """Adds two numbers.

    :param a: the first
    :param b: the second
    """
    return a + b


def test_declaration_from_signature_and_docstring() -> None:
    declared = _functions.declare(get_weather)
    assert declared.name == "get_weather"
    assert declared.description == "Returns the current weather."
    params = declared.parameters
    assert params.type == content_pb2.OBJECT
    assert list(params.required) == ["location"]
    assert params.properties["location"].type == content_pb2.STRING
    assert params.properties["location"].description.startswith("The city and state")
    assert list(params.properties["unit"].enum) == ["C", "F"]
    sphinx = _functions.declare(add)
    assert sphinx.parameters.properties["b"].description == "the second"
    assert sphinx.response.type == content_pb2.INTEGER


def _call(name: str, **args: Any) -> content_pb2.Part:
    struct = struct_pb2.Struct()
    struct.update(args)
    return content_pb2.Part(function_call=content_pb2.FunctionCall(id="c1", name=name, args=struct))


def _reply(*parts: content_pb2.Part) -> pb.GenerateContentResponse:
    return pb.GenerateContentResponse(
        candidates=[
            generation_pb2.Candidate(content=content_pb2.Content(role="model", parts=parts))
        ]
    )


async def test_automatic_function_calling_loop(api: Api, stub: StubServer) -> None:
    stub.script(
        GENERATE_CONTENT,
        _reply(_call("add", a=2, b=3)),
        _reply(_call("add", a=5, b=1)),
        _reply(content_pb2.Part(text="6")),
    )
    seen: list[tuple[int, int]] = []

    def tracked_add(a: int, b: int) -> int:
        """Adds."""
        seen.append((a, b))
        return a + b

    tracked_add.__name__ = "add"
    response = await api(
        lambda c: c.models.generate_content("gem", "2+3+1?", config={"tools": [tracked_add]})
    )
    assert response.text == "6"
    assert seen == [(2, 3), (5, 1)]  # ints, not the floats a Struct carries
    requests = [r.request for r in stub.calls(GENERATE_CONTENT)]
    assert [len(r.contents) for r in requests] == [1, 3, 5]
    last = requests[-1].contents
    assert [t.role for t in last] == ["user", "model", "user", "model", "user"]
    answer = last[2].parts[0].function_response
    assert answer.name == "add" and answer.id == "c1"
    assert answer.response["result"] == 5
    assert requests[0].tools[0].function_declarations[0].name == "add"
    assert len(response.automatic_function_calling_history) == 5


async def test_function_errors_go_back_to_the_model(api: Api, stub: StubServer) -> None:
    def explode(x: int) -> int:
        """Fails."""
        raise RuntimeError("kaput")

    stub.script(
        GENERATE_CONTENT, _reply(_call("explode", x=1)), _reply(content_pb2.Part(text="ok"))
    )
    response = await api(
        lambda c: c.models.generate_content("gem", "go", config={"tools": [explode]})
    )
    assert response.text == "ok"
    sent = stub.calls(GENERATE_CONTENT)[1].request.contents[2].parts[0].function_response
    assert "kaput" in sent.response["error"]


async def test_async_tools_on_the_async_client(api: Api, stub: StubServer) -> None:
    if not api.is_async:
        return

    async def lookup(key: str) -> str:
        """Looks up a key."""
        return key.upper()

    stub.script(
        GENERATE_CONTENT, _reply(_call("lookup", key="k")), _reply(content_pb2.Part(text="K"))
    )
    response = await api(
        lambda c: c.models.generate_content("gem", "go", config={"tools": [lookup]})
    )
    assert response.text == "K"
    sent = stub.calls(GENERATE_CONTENT)[1].request.contents[2].parts[0].function_response
    assert sent.response["result"] == "K"


async def test_loop_can_be_disabled(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _reply(_call("get_weather", location="Boston")))
    config = GenerateContentConfig(
        tools=[get_weather],
        automatic_function_calling=AutomaticFunctionCallingConfig(disable=True),
    )
    response = await api(lambda c: c.models.generate_content("gem", "weather?", config=config))
    (call,) = response.function_calls
    assert call.name == "get_weather" and call.args["location"] == "Boston"
    assert len(stub.calls(GENERATE_CONTENT)) == 1


async def test_maximum_remote_calls(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _reply(_call("add", a=1, b=1)))
    config = {"tools": [add], "automatic_function_calling": {"maximum_remote_calls": 3}}
    response = await api(lambda c: c.models.generate_content("gem", "loop", config=config))
    assert len(stub.calls(GENERATE_CONTENT)) == 3
    assert response.function_calls[0].name == "add"


async def test_default_limit_is_ten(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _reply(_call("add", a=1, b=1)))
    await api(lambda c: c.models.generate_content("gem", "loop", config={"tools": [add]}))
    assert len(stub.calls(GENERATE_CONTENT)) == 10


async def test_unknown_function_is_returned(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _reply(_call("mystery")))
    response = await api(lambda c: c.models.generate_content("gem", "?", config={"tools": [add]}))
    assert response.function_calls[0].name == "mystery"
    assert len(stub.calls(GENERATE_CONTENT)) == 1


@dataclasses.dataclass
class Country:
    name: str
    population: int
    capitals: list[str]
    motto: str | None = None


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Recipe(TypedDict):
    title: str
    minutes: int


async def test_response_schema_dataclass(api: Api, stub: StubServer) -> None:
    body = '{"name": "France", "population": 68000000, "capitals": ["Paris"]}'
    stub.script(GENERATE_CONTENT, _reply(content_pb2.Part(text=body)))
    config = {"response_schema": Country}
    response = await api(lambda c: c.models.generate_content("gem", "France?", config=config))
    assert response.parsed == Country("France", 68000000, ["Paris"])
    generation = stub.calls(GENERATE_CONTENT)[0].request.generation_config
    assert generation.response_mime_type == "application/json"
    schema = generation.response_schema
    assert schema.type == content_pb2.OBJECT
    assert list(schema.required) == ["name", "population", "capitals"]
    assert schema.properties["capitals"].items.type == content_pb2.STRING
    assert schema.properties["motto"].nullable


async def test_response_schema_dict_and_typed_dict(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _reply(content_pb2.Part(text='{"title": "Soup", "minutes": 5}')))
    typed = await api(
        lambda c: c.models.generate_content("g", "r", config={"response_schema": Recipe})
    )
    assert typed.parsed == {"title": "Soup", "minutes": 5}
    raw_schema = {"type": "OBJECT", "properties": {"title": {"type": "STRING"}}}
    plain = await api(
        lambda c: c.models.generate_content("g", "r", config={"response_schema": raw_schema})
    )
    assert plain.parsed["title"] == "Soup"
    sent = stub.calls(GENERATE_CONTENT)[0].request.generation_config.response_schema
    assert list(sent.required) == ["title", "minutes"]


def test_schema_from_types() -> None:
    assert _schema.from_type(Color).enum == ["red", "blue"]
    assert _schema.from_type(list[int]).items.type == content_pb2.INTEGER
    assert _schema.from_type(int | None).nullable
    union = _schema.from_type(int | str)
    assert [s.type for s in union.any_of] == [content_pb2.INTEGER, content_pb2.STRING]
    assert _schema.to_python("red", Color) is Color.RED


def test_json_schema_with_refs_and_nullable() -> None:
    source = {
        "type": "object",
        "properties": {
            "pet": {"$ref": "#/$defs/Pet"},
            "age": {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "years"},
            "tags": {"type": ["array", "null"], "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["pet"],
        "$defs": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    schema = _schema.from_json_schema(source)
    assert schema.properties["pet"].properties["name"].type == content_pb2.STRING
    assert schema.properties["age"].type == content_pb2.INTEGER
    assert schema.properties["age"].nullable and schema.properties["age"].description == "years"
    assert schema.properties["tags"].nullable and schema.properties["tags"].max_items == 3
    assert isinstance(schema, S)


async def test_async_tools_need_the_async_client(api: Api, stub: StubServer) -> None:
    if api.is_async:
        return

    async def lookup(key: str) -> str:
        """Looks up a key."""
        return key

    stub.script(GENERATE_CONTENT, _reply(_call("lookup", key="k")))
    with pytest.raises(errors.UsageError, match="AsyncClient"):
        await api(lambda c: c.models.generate_content("gem", "go", config={"tools": [lookup]}))
