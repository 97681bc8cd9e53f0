"""When the fake engine calls a declared function, with which arguments, and how it reads results.

Whether to call (``tool_config.function_calling_config``; the last turn is the one answered):

* NONE: never call.
* AUTO, VALIDATED or unset: call the allowed function whose name the last turn's text
  mentions first (a whole-word, case-insensitive match); answer with text when none is named
  or when the last turn holds function responses.
* ANY: always call, even after function responses: the named function, or else the first
  allowed one.
* ``allowed_function_names``, when given, limits the functions that may be called in any mode.

Arguments come from the ``parameters`` schema, or from ``parameters_json_schema`` (a JSON
Schema document, read with the same rules, camelCase keywords, ``$ref`` and ``allOf``/
``anyOf``/``oneOf`` worked out as json_values does; a member whose schema is ``false`` is left
out, one whose schema is ``true`` is filled as a string, ``const`` gives its value), property by
property (``property_ordering`` first, then ``required``, then the rest by name), filled from
the last turn's text:

* NUMBER and INTEGER take the next unused number in the text (outside quotes), else 0.
* ``enum`` takes the first value the text mentions, else the first value.
* STRING takes the next unused double-quoted text, else "".
* BOOLEAN is true when the text says "true" or "yes", else false.
* OBJECT is filled recursively; ARRAY is an empty list.

So "add 2 and 3" with ``add(a: NUMBER, b: NUMBER)`` calls ``add(a=2, b=3)``.

When the last turn holds function responses, the answer names each function and its
returned fields, e.g. ``get_weather returned temperature 21, unit celsius.``
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence

from google.protobuf import json_format, struct_pb2

from textgen.testing.fake_engine.json_values import JsonValue, resolve
from textgen.v1 import content_pb2

Config = content_pb2.FunctionCallingConfig

_QUOTED = re.compile(r"\"([^\"]*)\"|“([^”]*)”")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_YES = re.compile(r"\b(true|yes)\b", re.IGNORECASE)


def plan_call(
    contents: Sequence[content_pb2.Content],
    tools: Sequence[content_pb2.Tool],
    tool_config: content_pb2.ToolConfig | None,
) -> content_pb2.FunctionCall | None:
    """The call the model makes to answer the last turn, or None to answer with text."""
    config = tool_config.function_calling_config if tool_config else Config()
    allowed = [
        declaration
        for tool in tools
        for declaration in tool.function_declarations
        if not config.allowed_function_names or declaration.name in config.allowed_function_names
    ]
    last = contents[-1] if contents else content_pb2.Content()
    if config.mode == Config.NONE or not allowed:
        return None
    if config.mode != Config.ANY and responses(last):
        return None
    text = "".join(part.text for part in last.parts if part.HasField("text"))
    chosen = _first_named(allowed, text)
    if chosen is None and config.mode == Config.ANY:
        chosen = allowed[0]
    if chosen is None:
        return None
    call = content_pb2.FunctionCall(name=chosen.name, args=struct_pb2.Struct())
    if chosen.HasField("parameters_json_schema"):
        document: object = json_format.MessageToDict(chosen.parameters_json_schema)
        call.args.update(_json_arguments(document, text))
    else:
        call.args.update(_arguments(chosen.parameters, text))
    return call


def responses(content: content_pb2.Content) -> list[content_pb2.FunctionResponse]:
    """The function responses content holds, in order."""
    return [part.function_response for part in content.parts if part.HasField("function_response")]


def describe(results: Sequence[content_pb2.FunctionResponse]) -> str:
    """A sentence per function response that states every returned field."""
    sentences = []
    for result in results:
        fields = json_format.MessageToDict(result.response)
        listed = ", ".join(f"{key} {_plain(value)}" for key, value in sorted(fields.items()))
        sentences.append(f"{result.name} returned {listed or 'nothing'}.")
    return " ".join(sentences)


def _first_named(
    declarations: Sequence[content_pb2.FunctionDeclaration], text: str
) -> content_pb2.FunctionDeclaration | None:
    positions = [
        (match.start(), index)
        for index, declaration in enumerate(declarations)
        if (
            match := re.search(
                rf"(?<![\w.-]){re.escape(declaration.name)}(?![\w-]|\.\w)", text, re.I
            )
        )
    ]
    return declarations[min(positions)[1]] if positions else None


def _arguments(schema: content_pb2.Schema, text: str) -> dict[str, JsonValue]:
    quoted, numbers = _mentions(text)
    value = _fill(schema, text, quoted, numbers)
    return value if isinstance(value, dict) else {}


def _json_arguments(document: object, text: str) -> dict[str, JsonValue]:
    quoted, numbers = _mentions(text)
    value = _JsonFiller(document, text, quoted, numbers).fill(document, 0)
    return value if isinstance(value, dict) else {}


def _mentions(text: str) -> tuple[Iterator[str], Iterator[float]]:
    """The quoted texts, then the numbers outside quotes, in the order the text has them."""
    quoted = [first or second for first, second in _QUOTED.findall(text)]
    written = (float(found) for found in _NUMBER.findall(_QUOTED.sub(" ", text)))
    # A number too long for a float reads as infinite, which no JSON value holds: skipped.
    numbers = (number for number in written if math.isfinite(number))
    return iter(quoted), numbers


def _fill(
    schema: content_pb2.Schema, text: str, quoted: Iterator[str], numbers: Iterator[float]
) -> JsonValue:
    kind = schema.type
    if kind == content_pb2.OBJECT:
        return {
            name: _fill(schema.properties[name], text, quoted, numbers) for name in _order(schema)
        }
    if kind == content_pb2.ARRAY:
        return []
    if kind == content_pb2.NUMBER:
        return next(numbers, 0.0)
    if kind == content_pb2.INTEGER:
        return round(next(numbers, 0.0))
    if kind == content_pb2.BOOLEAN:
        return _YES.search(text) is not None
    if schema.enum:
        lowered = text.lower()
        return next((value for value in schema.enum if value.lower() in lowered), schema.enum[0])
    return next(quoted, "")


class _JsonFiller:
    """_fill's rules for a JSON Schema document (root is what ``$ref`` resolves against),
    writing at most MAX_ARGUMENT_VALUES values (any asked for after that are null)."""

    def __init__(
        self, root: object, text: str, quoted: Iterator[str], numbers: Iterator[float]
    ) -> None:
        self._root = root
        self._text = text
        self._quoted = quoted
        self._numbers = numbers
        self._left = MAX_ARGUMENT_VALUES

    def fill(self, schema: object, depth: int) -> JsonValue:
        if self._left <= 0:
            return None
        self._left -= 1
        found = resolve(schema, self._root)
        if not isinstance(found, dict) or depth > _MAX_DEPTH:
            return next(self._quoted, "") if found is True else None
        if "const" in found:
            constant: JsonValue = found["const"]
            return constant
        kind = _json_kind(found)
        if kind == "object":
            return {name: self.fill(member, depth + 1) for name, member in self._members(found)}
        choices = found.get("enum")
        if isinstance(choices, list) and choices:
            lowered = self._text.lower()
            mentioned = (
                value for value in choices if isinstance(value, str) and value.lower() in lowered
            )
            chosen: JsonValue = next(mentioned, choices[0])
            return chosen
        if kind == "array":
            return []
        if kind == "number":
            return next(self._numbers, 0.0)
        if kind == "integer":
            return round(next(self._numbers, 0.0))
        if kind == "boolean":
            return _YES.search(self._text) is not None
        if kind == "null":
            return None
        return next(self._quoted, "")

    def _members(self, schema: dict[str, object]) -> list[tuple[str, object]]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        names = [
            *_strings(schema.get("propertyOrdering", schema.get("property_ordering"))),
            *_strings(schema.get("required")),
            *sorted(name for name in properties if isinstance(name, str)),
        ]
        return [
            (name, properties[name])
            for name in dict.fromkeys(names)
            if name in properties and resolve(properties[name], self._root) is not False
        ]


# Deeper JSON Schema members are filled with null, so a schema that refers to itself ends.
_MAX_DEPTH = 16
# The most values one call's arguments hold (objects count as one each, members apart), so
# that a schema whose members refer to it twice over stays cheap.
MAX_ARGUMENT_VALUES = 4096


def _strings(value: object) -> list[str]:
    return [entry for entry in value if isinstance(entry, str)] if isinstance(value, list) else []


def _json_kind(schema: dict[str, object]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((str(entry) for entry in declared if str(entry).lower() != "null"), "")
    if isinstance(declared, str) and declared:
        return declared.lower()
    return "object" if "properties" in schema else "string"


def _order(schema: content_pb2.Schema) -> list[str]:
    names = [*schema.property_ordering, *schema.required, *sorted(schema.properties)]
    return [name for name in dict.fromkeys(names) if name in schema.properties]


def _plain(value: JsonValue) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)
