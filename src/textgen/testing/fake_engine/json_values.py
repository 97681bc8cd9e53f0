"""Seeded JSON values that conform to a JSON Schema, for the fake engine's JSON mode.

Supported keywords: ``type`` (object, array, string, number, integer, boolean, null; any case;
a list picks its first non-null entry), ``properties`` (every property is filled, in
``propertyOrdering`` order when given), ``required``, ``items``, ``minItems``/``maxItems``
(default 1 to 3 items), ``enum`` (one of its values), ``minimum``/``maximum`` for numbers,
and ``anyOf``/``oneOf`` (the first branch). Without ``type``, ``properties`` means object and
``items`` means array; anything else becomes a short string.
"""

from __future__ import annotations

import math
import random
from typing import Any, TypeAlias

from textgen.testing.fake_engine.prose import phrase

JsonSchema: TypeAlias = dict[str, Any]
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"


def value_for(schema: JsonSchema, source: random.Random, words: tuple[str, ...]) -> JsonValue:
    """A value that schema accepts, drawn from source."""
    for key in ("anyOf", "any_of", "oneOf", "one_of"):
        if schema.get(key):
            return value_for(schema[key][0], source, words)
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
        low = int(_keyword(schema, "minItems", "min_items", 1))
        high = max(low, int(_keyword(schema, "maxItems", "max_items", max(low, 3))))
        count = source.randint(low, min(high, low + 2))
        items = schema.get("items", {})
        return [value_for(items, source, words) for _ in range(count)]
    if kind in ("number", "integer"):
        return _number(schema, source, integer=kind == "integer")
    if kind == "boolean":
        return source.random() < 0.5
    if kind == "null":
        return None
    return phrase(source, words, source.randint(1, 3))


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
