"""Seeded JSON values that conform to a JSON Schema, for the fake engine's JSON mode.

Any JSON Schema document is accepted and none makes the writer fail. A subschema may be a
boolean: ``true`` accepts any value (a short string is written) and ``false`` accepts none
(an optional property with it is left out; an array whose ``items`` is ``false`` is empty).

Followed (camelCase, or the proto's snake_case where it has one):

* ``$ref`` to a place in the same document (``#``, ``#/$defs/x``, ``#/definitions/x``, any
  JSON pointer), merged with its neighbouring keywords; at most 16 references are followed
  in a row, and values nested more than 24 deep are written as null, so a schema that refers
  to itself ends. Below depth 6, arrays hold their fewest items and objects only their
  required members, so recursive schemas stay small. Other references are ignored.
* ``allOf`` (its branches merged: properties joined, required united, bounds narrowed),
  ``anyOf`` and ``oneOf`` (the first branch that is not ``false``, merged with the keywords
  beside it).
* ``const`` (that value), ``enum`` (one of its values).
* ``type``, any case; a list picks its first non-null entry. Without ``type``,
  ``properties`` or ``required`` mean object, ``items`` or ``prefixItems`` mean array, and
  anything else becomes a short string.
* Objects: every property, in ``propertyOrdering`` order when given, then each ``required``
  name that ``properties`` lacks, its value from ``additionalProperties`` (none when that is
  ``false``).
* Arrays: ``items`` (an object or boolean, or the older list form with
  ``additionalItems``), ``prefixItems``, ``minItems``/``maxItems`` (1 to 3 items by default).
* Strings: ``minLength``/``maxLength`` (lengthened a word at a time, up to 4096 characters,
  then cut).
* Numbers and integers: ``minimum``/``maximum`` and ``exclusiveMinimum``/``exclusiveMaximum``
  (the numeric form, and draft 4's boolean form).

Ignored, so answers may break them: ``pattern``, ``format``, ``multipleOf``, ``uniqueItems``,
``contains``, ``not``, ``if``/``then``/``else``, ``patternProperties``, ``propertyNames``,
``minProperties``/``maxProperties``, ``dependentRequired``/``dependentSchemas``. A schema no
value satisfies (``false`` at the top or for a required member, contradictory bounds or
branches) still gets an answer, as close as the rules above make it; it cannot conform.

`json_text` writes the value a piece at a time, as `json.dumps(value_for(...))` would write it
whole, drawing from the source in the same order; so an answer can be streamed before all of
it is drawn.

The work is bounded whatever the schema. An answer holds at most `budget` values (every value
counts, containers included; MAX_VALUES unless the caller passes its output cap): once they
are spent, arrays and objects take no more members and a value still asked for is null.
Each value takes at least one token, so with the output cap as the budget the spent answer
is longer than the cap and is cut there anyway: the part a caller sees is the same as
without the budget. Counts (minItems) are clamped to what is left of it. Resolution of
``$ref``, ``allOf``, ``anyOf`` and ``oneOf`` takes at most _STEPS steps for one subschema,
branches included, and each subschema is resolved once per answer.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii
from typing import Any, TypeAlias

from textgen.server.validation.schema_limits import json_pointer
from textgen.testing.fake_engine.prose import below, phrase

JsonSchema: TypeAlias = dict[str, Any]
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
# A subschema: an object, or a boolean (true: any value; false: no value).
AnySchema: TypeAlias = "JsonSchema | bool"

MAX_REFS = 16  # references followed in a row before one is ignored
MAX_DEPTH = 24  # deeper values are written as null
SHALLOW_DEPTH = 6  # deeper arrays hold their fewest items, objects only required members
MAX_LENGTH = 4096  # the longest string minLength can ask for
# Keywords that narrow a bound when allOf branches are merged.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "min_length", "minItems", "min_items")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "max_length", "maxItems", "max_items")
_BRANCHES = ("anyOf", "any_of", "oneOf", "one_of")
_ALL = ("allOf", "all_of")
_STEPS = 128  # resolution steps for one subschema ($ref, allOf, anyOf), branches included
MAX_VALUES = 65_536  # the values one answer holds at most, when the caller names no budget


def value_for(
    schema: AnySchema, source: random.Random, words: tuple[str, ...], *, budget: int = MAX_VALUES
) -> JsonValue:
    """A value that schema accepts, drawn from source, of at most `budget` values."""
    return _Writer(schema, source, words, budget).value(schema, 0)


def json_text(
    schema: AnySchema, source: random.Random, words: tuple[str, ...], *, budget: int = MAX_VALUES
) -> Iterator[str]:
    """`json.dumps(value_for(schema, source, words, budget=budget))` in pieces, drawn as they
    are written."""
    return _Writer(schema, source, words, budget).text(schema, 0)


def resolve(schema: object, root: object) -> AnySchema:
    """schema with its ``$ref``, ``allOf``, ``anyOf`` and ``oneOf`` worked out against root
    (see the module docstring): a boolean, or an object without those keywords."""
    return _resolve(schema, root, [_STEPS])


def _resolve(schema: object, root: object, steps: list[int]) -> AnySchema:
    # `steps` holds what is left of the steps shared by this resolution and every branch
    # it resolves on the way; when none are left, the keywords at hand are kept as they are.
    current: object = schema
    refs = 0
    while steps[0] > 0:
        steps[0] -= 1
        if isinstance(current, bool):
            return current
        if not isinstance(current, dict):
            return True  # not a schema at all: accept anything rather than fail
        if "$ref" in current:
            rest = {key: value for key, value in current.items() if key != "$ref"}
            refs += 1
            target = json_pointer(root, current["$ref"]) if refs <= MAX_REFS else None
            current = rest if target is None else _merge(rest, target)
            continue
        every = next((key for key in _ALL if key in current), None)
        if every is not None:
            rest = {key: value for key, value in current.items() if key != every}
            branches = current[every] if isinstance(current[every], list) else []
            merged: AnySchema = rest
            for branch in branches:
                if steps[0] <= 0:
                    break
                merged = _merge(merged, _resolve(branch, root, steps))
            current = merged
            continue
        some = next((key for key in _BRANCHES if key in current), None)
        if some is not None:
            rest = {key: value for key, value in current.items() if key != some}
            branches = current[some] if isinstance(current[some], list) else []
            chosen = next(
                (
                    found
                    for branch in branches
                    if (found := _resolve(branch, root, steps)) is not False
                ),
                None if branches else True,
            )
            current = False if chosen is None else _merge(rest, chosen)
            continue
        return current
    return _plain(current)


def _plain(schema: object) -> AnySchema:
    """What is left of schema when resolution ran out of steps: the keywords it leaves."""
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        return True
    skipped = {"$ref", *_ALL, *_BRANCHES}
    return {key: value for key, value in schema.items() if key not in skipped}


def _merge(first: AnySchema, second: object) -> AnySchema:
    """A schema for what both accept, as far as the writer needs (allOf, $ref, branches)."""
    if second is False or first is False:
        return False
    if not isinstance(second, dict):
        return first
    if not isinstance(first, dict):
        return dict(second)
    merged = dict(first)
    for key, value in second.items():
        old = merged.get(key)
        if key not in merged:
            merged[key] = value
        elif key == "properties" and isinstance(old, dict) and isinstance(value, dict):
            joined = dict(old)
            for name, schema in value.items():
                joined[name] = {"allOf": [old[name], schema]} if name in old else schema
            merged[key] = joined
        elif key == "required" and isinstance(old, list) and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*old, *value]))
        elif key in _LOWER_BOUNDS and _is_number(old) and _is_number(value):
            merged[key] = max(old, value)
        elif key in _UPPER_BOUNDS and _is_number(old) and _is_number(value):
            merged[key] = min(old, value)
        elif key == "enum" and isinstance(old, list) and isinstance(value, list):
            merged[key] = [entry for entry in old if entry in value]
        else:
            merged[key] = value
    return merged


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Writer:
    """Writes values for the subschemas of one document (the root $ref resolves against),
    at most `budget` of them."""

    def __init__(
        self, root: object, source: random.Random, words: tuple[str, ...], budget: int
    ) -> None:
        self._root = root
        self._source = source
        self._words = words
        self._left = budget
        # id of a subschema -> (it, resolved); held so that ids are not reused meanwhile.
        self._resolved: dict[int, tuple[object, AnySchema]] = {}
        # (id of a resolved object schema, shallow) -> (it, its members).
        self._member_lists: dict[tuple[int, bool], tuple[object, list[tuple[str, object]]]] = {}

    def _resolve(self, schema: object) -> AnySchema:
        known = self._resolved.get(id(schema))
        if known is None or known[0] is not schema:
            known = self._resolved[id(schema)] = (schema, resolve(schema, self._root))
        return known[1]

    def _spend(self) -> bool:
        """Take one value from the budget; False when it is spent."""
        if self._left <= 0:
            return False
        self._left -= 1
        return True

    def value(self, schema: object, depth: int) -> JsonValue:
        if depth > MAX_DEPTH or not self._spend():
            return None
        found = self._resolve(schema)
        if not isinstance(found, dict):  # true: any value; false: none exists, so null
            return self._string({}) if found else None
        if "const" in found:
            constant: JsonValue = found["const"]
            return constant
        choices = found.get("enum")
        if isinstance(choices, list) and choices:
            chosen: JsonValue = self._source.choice(choices)
            return chosen
        kind = _kind(found)
        if kind == "object":
            written: dict[str, JsonValue] = {}
            for name, member in self._members(found, depth):
                if self._left <= 0:
                    break
                written[name] = self.value(member, depth + 1)
            return written
        if kind == "array":
            return [self.value(item, depth + 1) for item in self._items(found, depth)]
        return self._scalar(kind, found)

    def text(self, schema: object, depth: int) -> Iterator[str]:
        found = self._resolve(schema) if depth <= MAX_DEPTH and self._left > 0 else None
        simple = not isinstance(found, dict) or "const" in found or found.get("enum")
        kind = "" if simple or not isinstance(found, dict) else _kind(found)
        if kind in ("object", "array", "string"):
            self._spend()  # the container or string itself (value() spends for the rest)
        if kind == "object" and isinstance(found, dict):
            separator = "{"
            for name, member in self._members(found, depth):
                if self._left <= 0:
                    break
                yield f"{separator}{encode_basestring_ascii(name)}: "
                yield from self.text(member, depth + 1)
                separator = ", "
            yield "}" if separator == ", " else "{}"
        elif kind == "array" and isinstance(found, dict):
            items = self._items(found, depth)
            for index, item in enumerate(items):
                yield ", " if index else "["
                yield from self.text(item, depth + 1)
            yield "]" if items else "[]"
        elif kind == "string" and isinstance(found, dict):
            yield encode_basestring_ascii(self._string(found))
        else:
            yield json.dumps(self.value(schema, depth))

    def _members(self, schema: JsonSchema, depth: int) -> list[tuple[str, object]]:
        """Each member to write and its subschema, in order (no draws); worked out once
        per schema and depth class."""
        key = (id(schema), depth >= SHALLOW_DEPTH)
        known = self._member_lists.get(key)
        if known is None or known[0] is not schema:
            known = self._member_lists[key] = (schema, self._listed_members(schema, depth))
        return known[1]

    def _listed_members(self, schema: JsonSchema, depth: int) -> list[tuple[str, object]]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        required = (
            [name for name in required if isinstance(name, str)]
            if isinstance(required, list)
            else []
        )
        ordering = _keyword(schema, "propertyOrdering", "property_ordering", [])
        ordering = ordering if isinstance(ordering, list) else []
        names = [name for name in ordering if name in properties]
        names = list(dict.fromkeys([*names, *properties, *required]))
        if depth >= SHALLOW_DEPTH:
            names = [name for name in names if name in required]
        extra = schema.get("additionalProperties", True)
        members = []
        for name in names:
            member = properties.get(name, extra)
            if self._resolve(member) is not False:
                members.append((name, member))
        return members

    def _items(self, schema: JsonSchema, depth: int) -> list[object]:
        """The subschema of each item to write (the count is drawn here)."""
        prefix = schema.get("prefixItems")
        rest = schema.get("items", True)
        if isinstance(rest, list):  # the older tuple form
            prefix, rest = rest, schema.get("additionalItems", True)
        prefix = prefix if isinstance(prefix, list) else []
        # No more items than values left to write (each item is at least one).
        count = min(self._item_count(schema, shallow=depth >= SHALLOW_DEPTH), self._left)
        if self._resolve(rest) is False:
            count = min(count, len(prefix))
        return [prefix[index] if index < len(prefix) else rest for index in range(count)]

    def _item_count(self, schema: JsonSchema, *, shallow: bool) -> int:
        least = _count(_keyword(schema, "minItems", "min_items", None))
        most = _count(_keyword(schema, "maxItems", "max_items", None))
        low = least if least is not None else 0 if shallow else 1
        if most is not None and least is None:
            low = min(low, most)
        high = most if most is not None else max(low, 3)
        if high < low:  # nothing satisfies both; keep to the upper bound
            return high
        if shallow:
            return low
        return self._source.randint(low, min(high, low + 2))

    def _scalar(self, kind: str, schema: JsonSchema) -> JsonValue:
        if kind in ("number", "integer"):
            return _number(schema, self._source, integer=kind == "integer")
        if kind == "boolean":
            return self._source.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema)

    def _string(self, schema: JsonSchema) -> str:
        text = phrase(self._source, self._words, 1 + below(self._source.getrandbits, 3))
        shortest = _count(_keyword(schema, "minLength", "min_length", None))
        longest = _count(_keyword(schema, "maxLength", "max_length", None))
        if shortest is not None:
            while len(text) < min(shortest, MAX_LENGTH):
                text = f"{text} {phrase(self._source, self._words, 1)}"
        if longest is not None and len(text) > longest:
            text = text[:longest]
            if len(text.rstrip()) >= (shortest or 0):
                text = text.rstrip()
        return text


def _count(value: object) -> int | None:
    """A non-negative count keyword, or None when absent or not a number."""
    number = _finite(value)
    return None if number is None else max(0, math.ceil(number))


def _kind(schema: JsonSchema) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        named = [str(entry).lower() for entry in declared]
        declared = next((entry for entry in named if entry != "null"), "null" if named else "")
    if declared:
        return str(declared).lower()
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _keyword(schema: JsonSchema, camel: str, snake: str, default: Any) -> Any:  # noqa: ANN401
    """A keyword spelled either way (JSON Schema camelCase or proto snake_case)."""
    return schema.get(camel, schema.get(snake, default))


def _bound(schema: JsonSchema, name: str, exclusive: str) -> tuple[float | None, bool]:
    """A bound and whether it is exclusive (numeric exclusiveX wins; draft 4's boolean form
    makes X exclusive)."""
    inclusive = _finite(schema.get(name))
    strict_keyword = schema.get(exclusive)
    strict = _finite(strict_keyword)
    if strict is not None:
        if inclusive is None:
            return strict, True
        chosen = max(strict, inclusive) if name == "minimum" else min(strict, inclusive)
        return chosen, chosen == strict
    return inclusive, inclusive is not None and strict_keyword is True


def _finite(value: object) -> float | None:
    """A keyword's value as a finite number, or None when it is not one."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _number(schema: JsonSchema, source: random.Random, *, integer: bool) -> float | int:
    low, low_strict = _bound(schema, "minimum", "exclusiveMinimum")
    high, high_strict = _bound(schema, "maximum", "exclusiveMaximum")
    if low is None:
        low = 0.0 if high is None or high >= 0 else high - 100
    if high is None:
        high = low + 100
    if integer:
        least = math.floor(low) + 1 if low_strict else math.ceil(low)
        most = math.ceil(high) - 1 if high_strict else math.floor(high)
        return source.randint(least, max(least, most))
    high = max(low, high)
    if math.isfinite(high - low):
        drawn = source.uniform(low, high)
    else:  # the range is wider than a float holds: draw in its halves, then double
        drawn = source.uniform(low / 2, high / 2) * 2
    drawn = min(high, max(low, round(drawn, 2)))
    if (low_strict and drawn <= low) or (high_strict and drawn >= high):
        drawn = (low + high) / 2
    return drawn
