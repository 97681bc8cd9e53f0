"""FakeEngine JSON mode: valid JSON always, conforming to response_schema when given."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input
from textgen.testing.fake_engine.json_values import json_text, value_for
from textgen.testing.fake_engine.prose import WORDS

GEMINI = default_model("models/gemini-1.5-flash")
JSON = "application/json"

RECIPE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "servings": {"type": "integer", "minimum": 1, "maximum": 8},
        "rating": {"type": "number", "minimum": 0, "maximum": 5},
        "vegan": {"type": "boolean"},
        "course": {"type": "string", "enum": ["starter", "main", "dessert"]},
        "steps": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
        "author": {"type": "object", "properties": {"nick": {"type": "string"}}},
    },
    "required": ["name", "servings", "steps"],
}


async def answers(schema: dict[str, Any] | None, **params: Any) -> list[Any]:
    request = generation_input(
        GEMINI,
        "Give me recipes.",
        response_mime_type=JSON,
        response_schema=schema,
        candidate_count=3,
        temperature=1.0,
        **params,
    )
    output = await FakeEngine().generate(request)
    return [json.loads(candidate.text()) for candidate in output.candidates]


async def test_without_a_schema_every_candidate_is_a_json_object() -> None:
    for value in await answers(None):
        assert isinstance(value, dict)
        assert isinstance(value["answer"], str)


async def test_objects_follow_the_schema() -> None:
    values = await answers(RECIPE)
    for value in values:
        assert set(value) == set(RECIPE["properties"])
        assert isinstance(value["name"], str)
        assert isinstance(value["servings"], int) and 1 <= value["servings"] <= 8
        assert isinstance(value["rating"], float | int) and 0 <= value["rating"] <= 5
        assert isinstance(value["vegan"], bool)
        assert value["course"] in ("starter", "main", "dessert")
        assert 2 <= len(value["steps"]) <= 4
        assert all(isinstance(step, str) for step in value["steps"])
        assert isinstance(value["author"]["nick"], str)
    assert len({json.dumps(value, sort_keys=True) for value in values}) == 3


async def test_top_level_arrays_and_scalars_follow_the_schema() -> None:
    numbers = await answers({"type": "array", "items": {"type": "integer"}})
    assert all(isinstance(item, int) for value in numbers for item in value)
    enum = await answers({"type": "STRING", "enum": ["yes", "no"]})
    assert set(enum) <= {"yes", "no"}
    flag = await answers({"type": "boolean"})
    assert all(isinstance(value, bool) for value in flag)


async def test_system_directives_do_not_break_json() -> None:
    request = generation_input(
        GEMINI, "hi", system="uppercase\nprefix: >>", response_mime_type=JSON
    )
    text = (await FakeEngine().generate(request)).candidates[0].text()
    assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize(
    "schema",
    [
        RECIPE,
        {"type": "array", "items": RECIPE, "minItems": 3},
        {"anyOf": [{"oneOf": [{"type": "number", "minimum": -1.5, "maximum": 1.5}]}]},
        {"type": ["null", "integer"], "minimum": 3, "maximum": 3},
        {"enum": [{"nested": [1, 2.5, None]}, "plain"]},
        {"properties": {"a": {}, "b": {"type": "null"}}, "propertyOrdering": ["b", "b"]},
        {"properties": {}},
        {"items": {"type": "boolean"}, "maxItems": 0},
        {"type": "string"},
    ],
)
def test_written_in_pieces_equals_the_whole_value(schema: dict[str, Any]) -> None:
    for seed in range(5):
        whole = json.dumps(value_for(schema, random.Random(seed), WORDS))
        assert "".join(json_text(schema, random.Random(seed), WORDS)) == whole
