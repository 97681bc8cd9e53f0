"""google-genai's ways of writing a request (seed 004, and seed 002's Python forms), as our
client takes them: Part/Content builders, dict turns, safety shorthand, schemas and config.

Each test runs on Client and AsyncClient; those that need the real servicers run on a
FakeServer (`live`), those that check exactly what was sent on the stub server (`api`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pytest
import typing_extensions
from google.protobuf import json_format
from pydantic import BaseModel
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2, safety_pb2

from tests.client.conftest import Api
from tests.client.stub_server import StubServer
from textgen import _schema, errors, types
from textgen.resources._content import GENERATE_CONTENT
from textgen.resources.models import GENERATE_TEXT
from textgen.testing.fake_server import FakeServer

FLASH = "gemini-2.0-flash-001"
Setting = safety_pb2.SafetySetting


def _answer(text: str) -> model_service_pb2.GenerateContentResponse:
    candidate = generation_pb2.Candidate(
        content=content_pb2.Content(role="model", parts=[content_pb2.Part(text=text)])
    )
    return model_service_pb2.GenerateContentResponse(candidates=[candidate])


def test_part_builders_make_the_protos() -> None:
    assert types.Part.from_text(text="Why is the sky blue?") == content_pb2.Part(
        text="Why is the sky blue?"
    )
    call = types.Part.from_function_call(name="get_weather", args={"location": "Boston"})
    assert json_format.MessageToDict(call) == {
        "functionCall": {"name": "get_weather", "args": {"location": "Boston"}}
    }
    reply = types.Part.from_function_response(name="get_weather", response={"result": "sunny"})
    assert reply.function_response.response["result"] == "sunny"
    uri = types.Part.from_uri(file_uri="gs://bucket/scones.jpg", mime_type="image/jpeg")
    assert uri.file_data == content_pb2.FileData(
        file_uri="gs://bucket/scones.jpg", mime_type="image/jpeg"
    )
    raw = types.Part.from_bytes(data=b"\x89PNG", mime_type="image/png")
    assert raw.inline_data == content_pb2.Blob(data=b"\x89PNG", mime_type="image/png")
    assert types.UserContent(parts=["a", raw]).role == "user"
    assert types.ModelContent(parts=[call]).parts[0] == call
    with pytest.raises(TypeError, match="from_text"):
        types.Part()


async def test_manual_function_calling_as_the_seed_writes_it(live: Api, fake: FakeServer) -> None:
    # Seed 004, "Manually declare and invoke a function for function calling". Protobuf
    # takes enum values by name at run time; the typing stubs want the numbers.
    function = types.FunctionDeclaration(
        name="get_current_weather",
        description="Get the current weather in a given location",
        parameters=types.Schema(
            type="OBJECT",  # type: ignore[arg-type]
            properties={
                "location": types.Schema(type="STRING", description="The city and state"),  # type: ignore[arg-type]
            },
            required=["location"],
        ),
    )
    tool = types.Tool(function_declarations=[function])
    user_prompt_content = types.Content(
        role="user",
        parts=[types.Part.from_text(text="What is the weather like in Boston?")],
    )
    function_response_part = types.Part.from_function_response(
        name="get_current_weather", response={"result": "sunny"}
    )
    contents = [
        user_prompt_content,
        types.ModelContent(
            parts=[
                types.Part.from_function_call(
                    name="get_current_weather", args={"location": "Boston"}
                )
            ]
        ),
        types.Content(role="tool", parts=[function_response_part]),
    ]
    config = types.GenerateContentConfig(tools=[tool])
    response = await live(lambda c: c.models.generate_content(FLASH, contents, config=config))
    assert response.candidates
    sent = fake.journal.last("GenerateContent").request
    assert [turn.role for turn in sent.contents] == ["user", "model", "tool"]
    assert sent.contents[2].parts[0].function_response.response["result"] == "sunny"


async def test_uri_and_bytes_parts_reach_the_server(live: Api, fake: FakeServer) -> None:
    contents = [
        "What is this image about?",
        types.Part.from_uri(
            file_uri="gs://generativeai-downloads/images/scones.jpg", mime_type="image/jpeg"
        ),
        types.Part.from_bytes(data=b"\x89PNG\r\n", mime_type="image/png"),
    ]
    await live(lambda c: c.models.generate_content(FLASH, contents))
    [turn] = fake.journal.last("GenerateContent").request.contents
    assert turn.role == "user"
    assert [p.WhichOneof("data") for p in turn.parts] == ["text", "file_data", "inline_data"]
    assert turn.parts[2].inline_data.data == b"\x89PNG\r\n"


async def test_chat_history_as_dicts(live: Api, fake: FakeServer) -> None:
    # Seed 002's chat: history turns as dicts whose parts are a bare string.
    history: list[Any] = [
        {"role": "user", "parts": "Hello"},
        {"role": "model", "parts": "Great to meet you. What would you like to know?"},
    ]
    chat = await live(lambda c: c.chats.create("gemini-1.5-flash", history=history))
    response = await live(lambda c: chat.send_message("I have 2 dogs in my house."))
    assert response.text
    sent = fake.journal.last("GenerateContent").request
    assert [(t.role, t.parts[0].text) for t in sent.contents] == [
        ("user", "Hello"),
        ("model", "Great to meet you. What would you like to know?"),
        ("user", "I have 2 dogs in my house."),
    ]
    assert len(chat.history) == 4


async def test_contents_as_dicts(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _answer("ok"))
    contents = [
        {
            "role": "user",
            "parts": [
                {"text": "Describe"},
                {"inline_data": {"data": b"\x01", "mime_type": "image/png"}},
            ],
        },
        {"role": "model", "parts": [{"text": "A pixel."}]},
        {"text": "Thanks"},
    ]  # fmt: skip
    await api(lambda c: c.models.generate_content(FLASH, contents))
    sent = stub.calls(GENERATE_CONTENT)[0].request
    assert [t.role for t in sent.contents] == ["user", "model", "user"]
    assert sent.contents[0].parts[1].inline_data.data == b"\x01"
    with pytest.raises(TypeError, match="Part"):
        await api(lambda c: c.models.generate_content(FLASH, [{"txt": "typo"}]))


async def test_safety_shorthand(api: Api, stub: StubServer) -> None:
    # Seed 002: a dict from short category names to thresholds, or one threshold for all.
    stub.script(GENERATE_CONTENT, _answer("ok"))
    shorthand = {"HATE": "MEDIUM", "HARASSMENT": "BLOCK_ONLY_HIGH"}
    await api(
        lambda c: c.models.generate_content(FLASH, "x", config={"safety_settings": shorthand})
    )
    await api(lambda c: c.models.generate_content(FLASH, "x", config={"safety_settings": "MEDIUM"}))
    seed_004 = types.GenerateContentConfig(
        safety_settings=[
            types.SafetySetting(
                category="HARM_CATEGORY_HATE_SPEECH",  # type: ignore[arg-type]
                threshold="BLOCK_ONLY_HIGH",  # type: ignore[arg-type]
            )
        ]
    )
    await api(lambda c: c.models.generate_content(FLASH, "x", config=seed_004))
    first, everything, typed = (
        call.request.safety_settings for call in stub.calls(GENERATE_CONTENT)
    )
    assert [(s.category, s.threshold) for s in first] == [
        (safety_pb2.HARM_CATEGORY_HATE_SPEECH, Setting.BLOCK_MEDIUM_AND_ABOVE),
        (safety_pb2.HARM_CATEGORY_HARASSMENT, Setting.BLOCK_ONLY_HIGH),
    ]
    assert {s.category for s in everything} == {
        safety_pb2.HARM_CATEGORY_HARASSMENT,
        safety_pb2.HARM_CATEGORY_HATE_SPEECH,
        safety_pb2.HARM_CATEGORY_SEXUALLY_EXPLICIT,
        safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT,
    }
    assert {s.threshold for s in everything} == {Setting.BLOCK_MEDIUM_AND_ABOVE}
    assert typed[0].threshold == Setting.BLOCK_ONLY_HIGH


async def test_safety_shorthand_for_text_uses_the_text_categories(
    api: Api, stub: StubServer
) -> None:
    stub.script(GENERATE_TEXT, model_service_pb2.GenerateTextResponse())
    await api(lambda c: c.models.generate_text("text-bison-001", "x", safety_settings="low"))
    await api(
        lambda c: c.models.generate_text(
            "text-bison-001", "x", safety_settings={"sex": "none", "danger": "high"}
        )
    )
    every, some = (call.request.safety_settings for call in stub.calls(GENERATE_TEXT))
    assert len(every) == 6 and {s.threshold for s in every} == {Setting.BLOCK_LOW_AND_ABOVE}
    assert [s.category for s in some] == [
        safety_pb2.HARM_CATEGORY_SEXUAL,
        safety_pb2.HARM_CATEGORY_DANGEROUS,
    ]


async def test_safety_shorthand_errors_name_the_choices(api: Api, stub: StubServer) -> None:
    with pytest.raises(ValueError, match="HARM_CATEGORY_HARASSMENT"):
        rude = {"safety_settings": {"rude": "low"}}
        await api(lambda c: c.models.generate_content(FLASH, "x", config=rude))
    with pytest.raises(ValueError, match="BLOCK_ONLY_HIGH"):
        await api(
            lambda c: c.models.generate_content(FLASH, "x", config={"safety_settings": "max"})
        )
    assert stub.received == []


class Recipe(typing_extensions.TypedDict):
    recipe_name: str


async def test_typing_extensions_typed_dict_list_schema(live: Api, fake: FakeServer) -> None:
    # Seed 002's JSON mode, word for word: `response_schema=list([Recipe])`.
    config = {"response_mime_type": "application/json", "response_schema": list([Recipe])}
    result = await live(
        lambda c: c.models.generate_content(
            "gemini-1.5-flash", "List a few popular cookie recipes.", config=config
        )
    )
    assert isinstance(result.parsed, list) and result.parsed
    assert all(set(item) == {"recipe_name"} for item in result.parsed)
    schema = fake.journal.last("GenerateContent").request.generation_config.response_schema
    assert schema.type == content_pb2.ARRAY
    assert list(schema.items.required) == ["recipe_name"]
    also = await live(
        lambda c: c.models.generate_content(
            "gemini-1.5-flash",
            "List a few popular cookie recipes.",
            config={"response_schema": list[Recipe]},
        )
    )
    assert isinstance(also.parsed, list)


class Node(BaseModel):
    name: str
    children: list[Node] = []


@dataclass
class Tree:
    label: str
    branches: list[Tree]


def test_recursive_types_are_refused_clearly() -> None:
    with pytest.raises(_schema.RecursiveSchemaError, match=r"Node is recursive \(Node -> Node\)"):
        _schema.response_schema(Node)
    with pytest.raises(_schema.RecursiveSchemaError, match="Tree -> Tree"):
        _schema.response_schema(Tree)
    cycle = {
        "$defs": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
        },
        "$ref": "#/$defs/A",
    }
    with pytest.raises(_schema.RecursiveSchemaError, match="A -> B -> A"):
        _schema.from_json_schema(cycle)
    # The same definition used twice, without a cycle, is inlined twice.
    shared = {
        "$defs": {"P": {"type": "string"}},
        "type": "object",
        "properties": {"x": {"$ref": "#/$defs/P"}, "y": {"$ref": "#/$defs/P"}},
    }
    assert _schema.from_json_schema(shared).properties["y"].type == content_pb2.STRING


async def test_recursive_schema_fails_before_sending(api: Api, stub: StubServer) -> None:
    with pytest.raises(TypeError, match="recursive"):
        await api(lambda c: c.models.generate_content(FLASH, "x", config={"response_schema": Node}))
    assert stub.received == []


async def test_sampling_fields_the_contract_has(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _answer("ok"))
    config = types.GenerateContentConfig(
        temperature=0,
        top_p=0.95,
        top_k=20,
        candidate_count=1,
        seed=5,
        max_output_tokens=100,
        stop_sequences=["STOP!"],
        presence_penalty=0.5,
        frequency_penalty=-0.25,
        response_logprobs=True,
        logprobs=3,
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=64),
        cached_content="cachedContents/abc",
    )
    await api(lambda c: c.models.generate_content(FLASH, "x", config=config))
    await api(
        lambda c: c.models.generate_content(
            FLASH, "x", config={"thinking_config": {"thinking_budget": 8}}
        )
    )
    typed, from_dict = (call.request for call in stub.calls(GENERATE_CONTENT))
    generation = typed.generation_config
    assert (generation.presence_penalty, generation.frequency_penalty) == (0.5, -0.25)
    assert generation.response_logprobs and generation.logprobs == 3
    assert generation.HasField("temperature") and generation.temperature == 0
    assert generation.thinking_config.include_thoughts
    assert generation.thinking_config.thinking_budget == 64
    assert typed.cached_content == "cachedContents/abc"
    assert from_dict.generation_config.thinking_config.thinking_budget == 8


async def test_unknown_config_keys_are_named(api: Api, stub: StubServer) -> None:
    with pytest.raises(TypeError, match=r"no 'labels'.*presence_penalty"):
        await api(lambda c: c.models.generate_content(FLASH, "x", config={"labels": {"a": "b"}}))
    assert stub.received == []


async def test_cached_content_reaches_the_server_which_has_none(live: Api) -> None:
    config = {"cached_content": "cachedContents/abc"}
    with pytest.raises(errors.InvalidArgument) as caught:
        await live(lambda c: c.models.generate_content(FLASH, "Summarize", config=config))
    assert [v.field for v in caught.value.field_violations] == ["cached_content"]


class InstrumentEnum(enum.Enum):
    PERCUSSION = "Percussion"
    STRING = "String"
    WOODWIND = "Woodwind"
    BRASS = "Brass"
    KEYBOARD = "Keyboard"


async def test_text_enum_answers_parse_as_the_enum(api: Api, stub: StubServer) -> None:
    # Seed 004's "Enum Response Schema", text/x.enum: the answer is a bare value.
    stub.script(GENERATE_CONTENT, _answer("Keyboard\n"))
    response = await api(
        lambda c: c.models.generate_content(
            FLASH,
            "What instrument plays multiple notes at once?",
            config={"response_mime_type": "text/x.enum", "response_schema": InstrumentEnum},
        )
    )
    assert response.parsed is InstrumentEnum.KEYBOARD
    generation = stub.calls(GENERATE_CONTENT)[0].request.generation_config
    assert generation.response_mime_type == "text/x.enum"
    assert list(generation.response_schema.enum) == [m.value for m in InstrumentEnum]
    # application/json: the same value, in quotes.
    stub.script(GENERATE_CONTENT, _answer('"Keyboard"'))
    quoted = await api(
        lambda c: c.models.generate_content(
            FLASH,
            "What instrument plays multiple notes at once?",
            config={"response_mime_type": "application/json", "response_schema": InstrumentEnum},
        )
    )
    assert quoted.parsed is InstrumentEnum.KEYBOARD


async def test_text_enum_answers_from_the_fake_server(live: Api) -> None:
    # The seed's exact call, served: the fake answers the value the prompt mentions, else
    # one of the values, and the client reads it as the enum.
    config = {"response_mime_type": "text/x.enum", "response_schema": InstrumentEnum}
    mentioned = await live(
        lambda c: c.models.generate_content(FLASH, "Is a piano a keyboard?", config=config)
    )
    assert mentioned.text == "Keyboard" and mentioned.parsed is InstrumentEnum.KEYBOARD
    plain = await live(
        lambda c: c.models.generate_content(
            FLASH, "What instrument plays multiple notes at once?", config=config
        )
    )
    assert isinstance(plain.parsed, InstrumentEnum)
    # Without values to choose from, the request is refused naming the schema field.
    with pytest.raises(errors.InvalidArgument) as caught:
        await live(
            lambda c: c.models.generate_content(
                FLASH, "Pick one", config={"response_mime_type": "text/x.enum"}
            )
        )
    assert [v.field for v in caught.value.field_violations] == ["generation_config.response_schema"]
