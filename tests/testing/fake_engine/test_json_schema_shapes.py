"""FakeEngine JSON mode over every shape of JSON Schema: boolean subschemas, $ref/$defs,
const, enum, string lengths, allOf/anyOf/oneOf and type lists. No shape makes it fail, and
what it claims to follow (json_values' docstring) the answer follows."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from textgen.testing.fake_engine.json_values import json_text, resolve, value_for
from textgen.testing.fake_engine.prose import WORDS


def conforms(value: Any, schema: Any, root: Any = None, depth: int = 0) -> bool:
    """A small checker for the keywords the fake follows (not a full validator)."""
    root = schema if root is None else root
    found = resolve(schema, root)
    if isinstance(found, bool):
        return found
    if "const" in found:
        return bool(value == found["const"])
    if isinstance(found.get("enum"), list) and found["enum"]:
        return value in found["enum"]
    kinds = found.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if kinds and not any(_is_kind(value, str(kind).lower()) for kind in kinds):
        return False
    if isinstance(value, dict):
        properties = found.get("properties", {})
        if any(name not in value for name in found.get("required", [])):
            return False
        extra = found.get("additionalProperties", True)
        return all(
            conforms(member, properties.get(name, extra), root, depth + 1)
            for name, member in value.items()
        )
    if isinstance(value, list):
        prefix = found.get("prefixItems", [])
        rest = found.get("items", True)
        if not found.get("minItems", 0) <= len(value) <= found.get("maxItems", math.inf):
            return False
        return all(
            conforms(item, prefix[index] if index < len(prefix) else rest, root, depth + 1)
            for index, item in enumerate(value)
        )
    if isinstance(value, str):
        return bool(found.get("minLength", 0) <= len(value) <= found.get("maxLength", math.inf))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return bool(
            found.get("minimum", -math.inf) <= value <= found.get("maximum", math.inf)
            and found.get("exclusiveMinimum", -math.inf) < value
            and value < found.get("exclusiveMaximum", math.inf)
        )
    return True


def _is_kind(value: Any, kind: str) -> bool:
    checks = {
        "object": lambda: isinstance(value, dict),
        "array": lambda: isinstance(value, list),
        "string": lambda: isinstance(value, str),
        "boolean": lambda: isinstance(value, bool),
        "null": lambda: value is None,
        "integer": lambda: isinstance(value, int) and not isinstance(value, bool),
        "number": lambda: isinstance(value, int | float) and not isinstance(value, bool),
    }
    return checks.get(kind, lambda: True)()


TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"label": {"type": "string"}, "children": {"$ref": "#/$defs/forest"}},
            "required": ["label", "children"],
        },
        "forest": {"type": "array", "items": {"$ref": "#/$defs/node"}},
    },
    "$ref": "#/$defs/node",
}

# Satisfiable shapes: the answer must conform.
SHAPES: list[Any] = [
    True,
    {},
    {"type": "object", "properties": {"x": True}},
    {"type": "object", "properties": {"x": False, "y": {"type": "integer"}}},
    {"type": "array", "items": False},
    {"type": "array", "items": False, "minItems": 0},
    {"type": "array", "items": True, "minItems": 2},
    {"type": "object", "properties": {"a": {}}, "additionalProperties": True},
    {"type": "object", "required": ["free"], "additionalProperties": {"type": "boolean"}},
    {"type": "object", "properties": {"n": {"properties": {"m": {"items": False}}}}},
    {"anyOf": [False, {"type": "integer", "minimum": 4, "maximum": 4}]},
    {"oneOf": [False, False, {"const": "only"}]},
    {"allOf": [{"properties": {"a": {"type": "string"}}}, {"required": ["b"]}]},
    {"allOf": [{"type": "integer", "minimum": 5}, {"maximum": 6}]},
    {"allOf": [True, {"type": "boolean"}]},
    {"$defs": {"name": {"type": "string", "minLength": 40}}, "$ref": "#/$defs/name"},
    {
        "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"enum": [1, 2]}},
        "$ref": "#/definitions/a",
    },
    {"properties": {"p": {"$ref": "#"}}},  # refers to itself: ends by depth
    TREE,
    {"const": {"fixed": [1, None, "x"]}},
    {"type": "string", "const": "c"},
    {"enum": [None, 0, "zero"]},
    {"type": "string", "minLength": 30, "maxLength": 31},
    {"type": "string", "maxLength": 0},
    {"type": "string", "maxLength": 2},
    {"type": ["null", "boolean"]},
    {"type": ["integer", "string"], "minimum": -3, "maximum": -3},
    {"type": ["null"]},
    {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1.01},
    {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 3},
    {"type": "integer", "maximum": -50},
    {"type": "array", "maxItems": 0},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"const": "b"}], "items": False},
    {"type": "array", "items": [{"type": "boolean"}], "additionalItems": False},
    {"type": "object", "properties": {"$ref": {"type": "string"}}, "$ref": "#/nowhere"},
    {"$ref": "https://example.com/remote.json"},
    {"type": "string", "pattern": "^[0-9]+$", "format": "email"},
    {"type": "OBJECT", "properties": {"a": {"type": "ARRAY", "items": {"type": "NUMBER"}}}},
]


@pytest.mark.parametrize("schema", SHAPES, ids=[json.dumps(s)[:60] for s in SHAPES])
def test_each_shape_gives_a_conforming_value_written_alike_in_pieces(schema: Any) -> None:
    for seed in range(8):
        value = value_for(schema, random.Random(seed), WORDS)
        assert conforms(value, schema), (value, schema)
        whole = json.dumps(value)
        assert "".join(json_text(schema, random.Random(seed), WORDS)) == whole


# No value satisfies these; the writer still answers with JSON and never fails.
IMPOSSIBLE: list[Any] = [
    False,
    {"type": "object", "properties": {"x": False}, "required": ["x"]},
    {"type": "object", "required": ["x"], "additionalProperties": False},
    {"type": "array", "items": False, "minItems": 2},
    {"anyOf": [False, False]},
    {"allOf": [{"type": "string"}, False]},
    {"enum": []},
    {"type": "integer", "minimum": 3, "maximum": 1},
    {"type": "string", "minLength": 5, "maxLength": 2},
    {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}},
    {"properties": {"loop": {"$ref": "#"}}, "required": ["loop"]},
    {"type": "string", "minLength": 10**9},
    {"minimum": "three", "maxItems": None, "required": "x", "properties": [1], "items": 7},
]


@pytest.mark.parametrize("schema", IMPOSSIBLE, ids=[json.dumps(s)[:60] for s in IMPOSSIBLE])
def test_impossible_shapes_still_give_json(schema: Any) -> None:
    value = value_for(schema, random.Random(1), WORDS)
    assert "".join(json_text(schema, random.Random(1), WORDS)) == json.dumps(value)


def _random_schema(source: random.Random, depth: int = 0) -> Any:
    """A satisfiable schema of a random shape (booleans, refs, combinators, bounds)."""
    pick = source.randrange(14 if depth < 4 else 8)
    if pick == 0:
        return True
    if pick == 1:
        return {"const": source.choice([1, "one", None, [True], {"k": 2.5}])}
    if pick == 2:
        return {"enum": source.sample(["a", "b", 3, None, False], source.randint(1, 3))}
    if pick == 3:
        low = source.randint(0, 20)
        return {"type": "string", "minLength": low, "maxLength": low + source.randint(0, 10)}
    if pick == 4:
        start = source.uniform(-50, 50)
        return {
            "type": source.choice(["number", "integer"]),
            "minimum": start,
            "maximum": start + 5,
        }
    if pick == 5:
        return {"type": source.choice([["null", "boolean"], ["string"], "null", "BOOLEAN"])}
    if pick in (6, 7):
        return {"type": "array", "items": False, "maxItems": source.randint(0, 3)}
    if pick in (8, 9):
        names = source.sample("abcdefg", source.randint(0, 4))
        properties = {name: _random_schema(source, depth + 1) for name in names}
        properties[source.choice("xyz")] = False
        return {
            "type": "object",
            "properties": properties,
            "required": [name for name in names if source.random() < 0.5],
            "additionalProperties": source.choice([True, False, {"type": "integer"}]),
        }
    if pick == 10:
        low = source.randint(0, 3)
        return {
            "type": "array",
            "items": _random_schema(source, depth + 1),
            "minItems": low,
            "maxItems": low + source.randint(0, 3),
        }
    if pick == 11:
        return {"anyOf": [False, _random_schema(source, depth + 1), False]}
    if pick == 12:
        return {"oneOf": [_random_schema(source, depth + 1)], "description": "branch"}
    inner = _random_schema(source, depth + 1)
    return {"$defs": {"inner": inner}, "properties": {"via": {"$ref": "#/$defs/inner"}}}


def test_many_random_shapes_conform() -> None:
    source = random.Random(20261130)
    for _ in range(400):
        schema = _random_schema(source)
        for seed in range(3):
            value = value_for(schema, random.Random(seed), WORDS)
            assert conforms(value, schema), (value, schema)
            assert "".join(json_text(schema, random.Random(seed), WORDS)) == json.dumps(value)


def test_a_recursive_schema_ends_and_stays_small() -> None:
    text = json.dumps(value_for(TREE, random.Random(0), WORDS))
    assert len(text) < 20_000
    assert conforms(json.loads(text), TREE)
