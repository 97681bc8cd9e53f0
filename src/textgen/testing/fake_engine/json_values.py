"""Seeded JSON values that conform to a JSON Schema, for the fake engine's JSON mode.

Supported keywords: ``type`` (object, array, string, number, integer, boolean, null; any case;
a list picks its first non-null entry), ``properties`` (every property is filled, in
``propertyOrdering`` order when given), ``required``, ``items``, ``minItems``/``maxItems``
(default 1 to 3 items), ``enum`` (one of its values), ``minimum``/``maximum`` for numbers,
and ``anyOf``/``oneOf`` (the first branch). Without ``type``, ``properties`` means object and
``items`` means array; anything else becomes a short string.

`json_text` writes the value a piece at a time, as `json.dumps(value_for(...))` would write it
whole, drawing from the source in the same order; so an answer can be streamed before all of
it is drawn.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii
from typing import Any, TypeAlias

from textgen.testing.fake_engine.prose import below, phrase

JsonSchema: TypeAlias = dict[str, Any]
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

_BRANCHES = ("anyOf", "any_of", "oneOf", "one_of")


def value_for(schema: JsonSchema, source: random.Random, words: tuple[str, ...]) -> JsonValue:
    """A value that schema accepts, drawn from source."""
    schema = _branch(schema)
    if schema.get("enum"):
        chosen: JsonValue = source.choice(list(schema["enum"]))
        return chosen
    kind = _kind(schema)
    if kind == "object":
        return {
            name: value_for(schema["properties"][name], source, words)
            for name in _property_order(schema)
        }
    if kind == "array":
        items = schema.get("items", {})
        return [value_for(items, source, words) for _ in range(_item_count(schema, source))]
    return _scalar(kind, schema, source, words)


def json_text(schema: JsonSchema, source: random.Random, words: tuple[str, ...]) -> Iterator[str]:
    """`json.dumps(value_for(schema, source, words))` in pieces, drawn as they are written."""
    schema = _branch(schema)
    kind = "enum" if schema.get("enum") else _kind(schema)
    if kind == "object":
        names = _property_order(schema)
        if len(set(names)) < len(names):  # a name filled twice keeps its place, not its value
            yield json.dumps(value_for(schema, source, words))
            return
        separator = "{"
        for name in names:
            yield f"{separator}{encode_basestring_ascii(name)}: "
            yield from json_text(schema["properties"][name], source, words)
            separator = ", "
        yield "{}" if not names else "}"
    elif kind == "array":
        items = schema.get("items", {})
        count = _item_count(schema, source)
        for index in range(count):
            yield ", " if index else "["
            yield from json_text(items, source, words)
        yield "]" if count else "[]"
    elif kind == "string":
        yield encode_basestring_ascii(_short_string(source, words))
    else:
        yield json.dumps(value_for(schema, source, words))


def _branch(schema: JsonSchema) -> JsonSchema:
    """The schema itself, or the first branch of its anyOf or oneOf (followed down)."""
    while True:
        branches = next((schema[key] for key in _BRANCHES if schema.get(key)), None)
        if branches is None:
            return schema
        schema = branches[0]


def _scalar(
    kind: str, schema: JsonSchema, source: random.Random, words: tuple[str, ...]
) -> JsonValue:
    if kind in ("number", "integer"):
        return _number(schema, source, integer=kind == "integer")
    if kind == "boolean":
        return source.random() < 0.5
    if kind == "null":
        return None
    return _short_string(source, words)


def _short_string(source: random.Random, words: tuple[str, ...]) -> str:
    return phrase(source, words, 1 + below(source.getrandbits, 3))  # randint(1, 3) words


def _item_count(schema: JsonSchema, source: random.Random) -> int:
    low = int(_keyword(schema, "minItems", "min_items", 1))
    high = max(low, int(_keyword(schema, "maxItems", "max_items", max(low, 3))))
    return source.randint(low, min(high, low + 2))


def _kind(schema: JsonSchema) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((entry for entry in declared if str(entry).lower() != "null"), "null")
    if declared:
        return str(declared).lower()
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _property_order(schema: JsonSchema) -> list[str]:
    properties: dict[str, Any] = schema.get("properties", {})
    ordering: list[str] = _keyword(schema, "propertyOrdering", "property_ordering", [])
    first = [name for name in ordering if name in properties]
    return first + [name for name in properties if name not in first]


def _keyword(schema: JsonSchema, camel: str, snake: str, default: Any) -> Any:  # noqa: ANN401
    """A keyword spelled either way (JSON Schema camelCase or proto snake_case)."""
    return schema.get(camel, schema.get(snake, default))


def _number(schema: JsonSchema, source: random.Random, *, integer: bool) -> float | int:
    low = float(schema.get("minimum", 0))
    high = max(low, float(schema.get("maximum", low + 100)))
    if integer:
        return source.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))
    return min(high, max(low, round(source.uniform(low, high), 2)))
