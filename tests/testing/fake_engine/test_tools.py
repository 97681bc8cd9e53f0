"""FakeEngine function calling: when it calls, with which arguments, and reading results."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2
from textgen.v1 import content_pb2

from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input, user_turn

GEMINI = default_model("models/gemini-2.0-flash-001")
Config = content_pb2.FunctionCallingConfig
Schema = content_pb2.Schema

WEATHER = content_pb2.FunctionDeclaration(
    name="get_weather",
    description="Current weather in a city.",
    parameters=Schema(
        type=content_pb2.OBJECT,
        properties={
            "city": Schema(type=content_pb2.STRING),
            "unit": Schema(type=content_pb2.STRING, enum=["celsius", "fahrenheit"]),
            "days": Schema(type=content_pb2.INTEGER),
            "alerts": Schema(type=content_pb2.BOOLEAN),
        },
        required=["city"],
    ),
)
ADD = content_pb2.FunctionDeclaration(
    name="add",
    description="Add two numbers.",
    parameters=Schema(
        type=content_pb2.OBJECT,
        properties={"a": Schema(type=content_pb2.NUMBER), "b": Schema(type=content_pb2.NUMBER)},
    ),
)
TOOLS = [content_pb2.Tool(function_declarations=[WEATHER, ADD])]


def config(mode: Config.Mode.ValueType, *allowed: str) -> content_pb2.ToolConfig:
    return content_pb2.ToolConfig(
        function_calling_config=Config(mode=mode, allowed_function_names=allowed)
    )


async def first_part(prompt: str | list[content_pb2.Content], **options: Any) -> content_pb2.Part:
    output = await FakeEngine().generate(generation_input(GEMINI, prompt, tools=TOOLS, **options))
    return output.candidates[0].parts[0]


async def test_naming_a_function_calls_it_with_arguments_from_the_prompt() -> None:
    part = await first_part('Use get_weather for "Paris" in fahrenheit for 3 days, yes alerts')
    assert part.function_call.name == "get_weather"
    assert json_format.MessageToDict(part.function_call.args) == {
        "city": "Paris",
        "unit": "fahrenheit",
        "days": 3,
        "alerts": True,
    }


async def test_numbers_fill_parameters_in_order_and_defaults_fill_the_rest() -> None:
    part = await first_part("please add 2.5 and -4")
    assert json_format.MessageToDict(part.function_call.args) == {"a": 2.5, "b": -4}
    weather = await first_part("get_weather")
    assert json_format.MessageToDict(weather.function_call.args) == {
        "city": "",
        "unit": "celsius",
        "days": 0,
        "alerts": False,
    }


async def test_auto_answers_with_text_when_no_function_is_named() -> None:
    part = await first_part("How are you?")
    assert part.HasField("text")


async def test_none_never_calls() -> None:
    part = await first_part("please add 1 and 2", tool_config=config(Config.NONE))
    assert part.HasField("text")


async def test_any_always_calls_the_first_allowed_function() -> None:
    unnamed = await first_part("Hello", tool_config=config(Config.ANY))
    assert unnamed.function_call.name == "get_weather"
    restricted = await first_part("Hello get_weather", tool_config=config(Config.ANY, "add"))
    assert restricted.function_call.name == "add"


async def test_allowed_names_restrict_auto_calls() -> None:
    part = await first_part("please add 1 and 2", tool_config=config(Config.AUTO, "get_weather"))
    assert part.HasField("text")


async def test_every_candidate_makes_the_call() -> None:
    output = await FakeEngine().generate(
        generation_input(GEMINI, "add 1 2", tools=TOOLS, candidate_count=2)
    )
    assert [candidate.parts[0].function_call.name for candidate in output.candidates] == [
        "add",
        "add",
    ]
    assert all(candidate.token_count > 0 for candidate in output.candidates)


def response_turns() -> list[content_pb2.Content]:
    result = struct_pb2.Struct()
    result.update({"temperature": 21, "conditions": "sunny"})
    call = content_pb2.FunctionCall(name="get_weather", args=struct_pb2.Struct())
    return [
        user_turn("What is the weather? get_weather"),
        user_turn(content_pb2.Part(function_call=call), role="model"),
        user_turn(
            content_pb2.Part(
                function_response=content_pb2.FunctionResponse(name="get_weather", response=result)
            ),
            role="function",
        ),
    ]


async def test_function_responses_are_answered_with_their_values() -> None:
    part = await first_part(response_turns())
    assert part.text == "get_weather returned conditions sunny, temperature 21."


async def test_any_calls_again_even_after_a_response() -> None:
    part = await first_part(response_turns(), tool_config=config(Config.ANY))
    assert part.function_call.name == "get_weather"


# The seed's manual declaration (google-genai's README), and a light switch with an enum.
CURRENT_WEATHER = content_pb2.FunctionDeclaration(
    name="get_current_weather",
    description="Get the current weather in a given location",
    parameters=Schema(
        type=content_pb2.OBJECT,
        properties={
            "location": Schema(
                type=content_pb2.STRING, description="The city and state, e.g. San Francisco, CA"
            )
        },
        required=["location"],
    ),
)
LIGHT = content_pb2.FunctionDeclaration(
    name="set_light_values",
    description="Set the brightness and color temperature of a room light.",
    parameters=Schema(
        type=content_pb2.OBJECT,
        properties={
            "brightness": Schema(type=content_pb2.INTEGER, minimum=0, maximum=100),
            "color_temp": Schema(type=content_pb2.STRING, enum=["daylight", "cool", "warm"]),
            "dimmed": Schema(type=content_pb2.BOOLEAN),
        },
        property_ordering=["dimmed", "brightness", "color_temp"],
    ),
)
ABOUT = [content_pb2.Tool(function_declarations=[CURRENT_WEATHER, LIGHT])]


async def call_about(prompt: str) -> tuple[str, Any]:
    output = await FakeEngine().generate(generation_input(GEMINI, prompt, tools=ABOUT))
    part = output.candidates[0].parts[0]
    assert part.HasField("function_call"), part.text
    return part.function_call.name, json_format.MessageToDict(part.function_call.args)


async def test_the_seed_prompt_calls_the_function_its_description_is_about() -> None:
    assert await call_about("What is the weather like in Boston?") == (
        "get_current_weather",
        {"location": "Boston"},
    )
    name, args = await call_about("Is it raining in San Francisco? Check the weather.")
    assert (name, args) == ("get_current_weather", {"location": "San Francisco"})


async def test_arguments_follow_the_schema_numbers_by_name_enums_and_booleans() -> None:
    name, args = await call_about("Put 2 lights on: the room light to warm at brightness 30")
    assert name == "set_light_values"
    assert args == {"dimmed": False, "brightness": 30, "color_temp": "warm"}
    _, dimmed = await call_about("Make the light cool and dimmed, brightness 250")
    assert dimmed == {"dimmed": True, "brightness": 100, "color_temp": "cool"}  # maximum 100
    _, undimmed = await call_about("Set the light to daylight, not dimmed")
    assert undimmed["dimmed"] is False and undimmed["color_temp"] == "daylight"


async def test_a_prompt_about_nothing_declared_gets_text() -> None:
    output = await FakeEngine().generate(generation_input(GEMINI, "Tell me a joke", tools=ABOUT))
    assert output.candidates[0].parts[0].HasField("text")
