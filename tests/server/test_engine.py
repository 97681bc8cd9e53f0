"""The engine's data types behave as the dataclasses they are, and the names that live in
engine_base and engine_tuning are importable from textgen.server.engine too."""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys
from typing import Any

import pytest
from textgen.v1 import content_pb2, generation_pb2, model_pb2, safety_pb2

from textgen.server import engine
from textgen.server.engine import (
    GeneratedCandidate,
    GenerationInput,
    GenerationOutput,
    HarmRating,
    RatingStream,
    SamplingParams,
)

MODEL = model_pb2.Model(name="models/m-001")
PARAMS = SamplingParams(0.5, 0.9, 40, 2, 64, ("END",), 7, "application/json", {"type": "object"})
RATING = HarmRating(safety_pb2.HARM_CATEGORY_VIOLENCE, safety_pb2.SafetyRating.NEGLIGIBLE)


def examples() -> list[Any]:
    """One instance of each type, every field set to something other than its default."""
    return [
        PARAMS,
        GenerationInput(
            MODEL,
            [content_pb2.Content(role="user")],
            PARAMS,
            "adapter",
            content_pb2.Content(),
            [content_pb2.Tool()],
            content_pb2.ToolConfig(),
        ),
        GeneratedCandidate(
            [content_pb2.Part(text="hi")], generation_pb2.Candidate.MAX_TOKENS, [RATING], 3
        ),
        GenerationOutput([GeneratedCandidate([])], 5),
        RatingStream(["a", "b"], "memo"),
    ]


def reference(value: Any) -> Any:
    """The same value as an instance of a dataclass that @dataclass itself wrote."""
    kind = type(value)
    twin = dataclasses.make_dataclass(
        kind.__name__,
        [(field.name, Any, field) for field in dataclasses.fields(kind)],
        frozen=kind.__dataclass_params__.frozen,
    )
    return twin(**{field.name: getattr(value, field.name) for field in dataclasses.fields(kind)})


@pytest.mark.parametrize("value", examples(), ids=lambda value: type(value).__name__)
def test_each_type_behaves_as_a_generated_dataclass(value: Any) -> None:
    twin = reference(value)
    generated = dataclasses.is_dataclass(value)  # (not an assert, which would narrow value)
    assert generated
    assert repr(value) == repr(twin)
    assert type(value).__match_args__ == type(twin).__match_args__
    assert dataclasses.asdict(value) == dataclasses.asdict(twin)
    copy = dataclasses.replace(value)
    assert copy == value and copy is not value
    assert value != twin  # another class, as for generated __eq__
    first = dataclasses.fields(value)[0].name
    changed = dataclasses.replace(value, **{first: None})
    assert changed != value
    assert getattr(changed, first) is None
    frozen = type(value).__dataclass_params__.frozen
    if frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, first, None)
        if type(value) is SamplingParams:
            hashable = dataclasses.replace(value, response_schema=None)
            assert hash(hashable) == hash(dataclasses.replace(hashable))
    else:
        with pytest.raises(TypeError):
            hash(value)


def test_defaults_match_the_fields_and_lists_are_never_shared() -> None:
    candidate = GeneratedCandidate([])
    assert (candidate.finish_reason, candidate.safety_ratings, candidate.token_count) == (
        generation_pb2.Candidate.STOP,
        (),
        0,
    )
    assert RatingStream().earlier is not RatingStream().earlier
    assert RatingStream().so_far("x") == "x"
    params = SamplingParams(1.0, 1.0, None, 1, 10)
    assert (params.stop_sequences, params.seed, params.response_mime_type) == (
        (),
        None,
        "text/plain",
    )


@pytest.mark.parametrize("name", sorted(engine._ELSEWHERE))
def test_names_defined_beside_the_module_import_from_it(name: str) -> None:
    home = importlib.import_module(engine._ELSEWHERE[name])
    assert getattr(engine, name) is getattr(home, name)


def test_importing_the_engine_module_loads_neither_base_classes_nor_tuning_types() -> None:
    code = (
        "import sys, textgen.server.engine; "
        "print(sorted(m for m in sys.modules if m.startswith('textgen.server.engine_')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        engine.Nothing  # noqa: B018


def test_texts_of_a_single_part_and_of_several() -> None:
    call = content_pb2.Part(function_call=content_pb2.FunctionCall(name="f"))
    text = content_pb2.Part(text="hi")
    assert GeneratedCandidate([text]).text() == "hi"
    assert GeneratedCandidate([call]).text() == ""
    assert GeneratedCandidate([text, call, content_pb2.Part(text=" there")]).text() == "hi there"
    assert GeneratedCandidate([]).text() == ""

    def prompt(*parts: content_pb2.Part) -> str:
        # The last turn is the prompt; an earlier one is not read.
        earlier = content_pb2.Content(role="model", parts=[content_pb2.Part(text="ignored")])
        turn = content_pb2.Content(role="user", parts=list(parts))
        return GenerationInput(MODEL, [earlier, turn], PARAMS).prompt_text()

    assert prompt(text) == "hi"
    assert prompt(call) == ""
    assert prompt(text, call, content_pb2.Part(text="!")) == "hi!"
    assert GenerationInput(MODEL, [], PARAMS).prompt_text() == ""
