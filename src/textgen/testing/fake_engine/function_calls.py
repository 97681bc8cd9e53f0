"""When the fake engine calls a declared function, with which arguments, and how it reads results.

Whether to call (``tool_config.function_calling_config``; the last turn is the one answered):

* NONE: never call.
* AUTO, VALIDATED or unset: call the allowed function whose name the last turn's text
  mentions first (a whole-word, case-insensitive match); when none is named, the allowed
  function the text is most about: the one whose name and description share the most words
  with it (words of three or more letters other than common ones such as "what" or "the",
  compared after dropping an ending such as -s, -es, -ing, -ed or -er, so "lights" meets
  "light" and "weather" meets "weather"), the first declared on a tie. Answer with text
  when no function shares a word, or when the last turn holds function responses.
* ANY: always call, even after function responses: the named function, else the one the
  text is about, else the first allowed one.
* ``allowed_function_names``, when given, limits the functions that may be called in any mode.

Arguments come from the ``parameters`` schema, or from ``parameters_json_schema`` (a JSON
Schema document, read with the same rules, camelCase keywords, ``$ref`` and ``allOf``/
``anyOf``/``oneOf`` worked out as json_values does; a member whose schema is ``false`` is left
out, one whose schema is ``true`` is filled as a string, ``const`` gives its value), property by
property (``property_ordering`` first, then ``required``, then the rest by name), filled from
the last turn's text as mentions reads it:

* NUMBER and INTEGER take the number written after the property's name, else the next unused
  number in the text (outside quotes), else 0; INTEGER rounds it, and ``minimum`` and
  ``maximum`` hold it in range.
* ``enum`` takes the value the text mentions first, else the first value.
* STRING takes the next unused double-quoted text, else the next capitalised name that does
  not start a sentence ("Boston"), else "".
* BOOLEAN is true when the text says "true", "yes" or "enable", or names the property
  without negating it; else false.
* OBJECT is filled recursively; ARRAY is an empty list.

So "add 2 and 3" with ``add(a: NUMBER, b: NUMBER)`` calls ``add(a=2, b=3)``, and "What is
the weather like in Boston?" with ``get_current_weather(location: STRING)``, described as
"Returns the current weather.", calls ``get_current_weather(location="Boston")``.

When the last turn holds function responses, the answer names each function and its
returned fields, e.g. ``get_weather returned temperature 21, unit celsius.``
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from google.protobuf import json_format, struct_pb2

from textgen.testing.fake_engine.json_values import JsonValue, resolve
from textgen.testing.fake_engine.mentions import Mentions, spoken
from textgen.v1 import content_pb2

Config = content_pb2.FunctionCallingConfig

_WORD = re.compile(r"[^\W\d_]{3,}")
# Words too common to say what a text is about.
_COMMON = frozenset({
    "the", "and", "for", "are", "was", "were", "what", "whats", "which", "who", "whom",
    "whose", "how", "when", "where", "why", "with", "this", "that", "these", "those", "there",
    "their", "them", "they", "then", "than", "its", "into", "onto", "from", "about", "like",
    "can", "could", "would", "should", "will", "shall", "may", "might", "must", "does", "did",
    "doing", "done", "has", "have", "had", "having", "you", "your", "yours", "our", "ours",
    "his", "her", "hers", "him", "she", "not", "but", "all", "any", "some", "each", "please",
    "tell", "give", "get", "set", "make", "use", "using", "let", "just", "also", "very",
    "much", "many", "more", "most", "returns", "return", "given",
})  # fmt: skip
# Endings dropped before words are compared, longest first.
_ENDINGS = ("ing", "ies", "es", "ed", "er", "s")


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
    chosen = _first_named(allowed, text) or _most_about(allowed, text)
    if chosen is None and config.mode == Config.ANY:
        chosen = allowed[0]
    if chosen is None:
        return None
    call = content_pb2.FunctionCall(name=chosen.name, args=struct_pb2.Struct())
    mentions = Mentions(text)
    if chosen.HasField("parameters_json_schema"):
        document: object = json_format.MessageToDict(chosen.parameters_json_schema)
        call.args.update(_json_arguments(document, mentions))
    else:
        call.args.update(_arguments(chosen.parameters, mentions))
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


def _most_about(
    declarations: Sequence[content_pb2.FunctionDeclaration], text: str
) -> content_pb2.FunctionDeclaration | None:
    """The declaration whose name and description share the most words with text (the first
    on a tie), or None when none shares any."""
    said = _topics(text)
    if not said:
        return None
    best, shared = None, 0
    for declaration in declarations:
        count = len(said & _topics(f"{spoken(declaration.name)} {declaration.description}"))
        if count > shared:
            best, shared = declaration, count
    return best


def _topics(text: str) -> set[str]:
    """The words of text that say what it is about, without their endings."""
    return {_stem(word) for word in _WORD.findall(text.lower()) if word not in _COMMON}


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _arguments(schema: content_pb2.Schema, mentions: Mentions) -> dict[str, JsonValue]:
    value = _fill(schema, mentions, "")
    return value if isinstance(value, dict) else {}


def _json_arguments(document: object, mentions: Mentions) -> dict[str, JsonValue]:
    value = _JsonFiller(document, mentions).fill(document, 0, "")
    return value if isinstance(value, dict) else {}


def _fill(schema: content_pb2.Schema, mentions: Mentions, name: str) -> JsonValue:
    kind = schema.type
    if kind == content_pb2.OBJECT:
        return {
            member: _fill(schema.properties[member], mentions, member) for member in _order(schema)
        }
    if kind == content_pb2.ARRAY:
        return []
    if kind in {content_pb2.NUMBER, content_pb2.INTEGER}:
        low = schema.minimum if schema.HasField("minimum") else None
        high = schema.maximum if schema.HasField("maximum") else None
        return _number(mentions.number(name), low, high, integer=kind == content_pb2.INTEGER)
    if kind == content_pb2.BOOLEAN:
        return mentions.boolean(name)
    if schema.enum:
        return mentions.choice(schema.enum) or schema.enum[0]
    return mentions.string()


def _number(found: float | None, low: float | None, high: float | None, *, integer: bool) -> float:
    """found (0 when None) held within [low, high], rounded for an integer."""
    value = 0.0 if found is None else found
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return round(value) if integer else value


class _JsonFiller:
    """_fill's rules for a JSON Schema document (root is what ``$ref`` resolves against),
    writing at most MAX_ARGUMENT_VALUES values (any asked for after that are null)."""

    def __init__(self, root: object, mentions: Mentions) -> None:
        self._root = root
        self._mentions = mentions
        self._left = MAX_ARGUMENT_VALUES

    def fill(self, schema: object, depth: int, name: str) -> JsonValue:
        if self._left <= 0:
            return None
        self._left -= 1
        found = resolve(schema, self._root)
        if not isinstance(found, dict) or depth > _MAX_DEPTH:
            return self._mentions.string() if found is True else None
        if "const" in found:
            constant: JsonValue = found["const"]
            return constant
        kind = _json_kind(found)
        if kind == "object":
            return {
                member: self.fill(value, depth + 1, member)
                for member, value in self._members(found)
            }
        choices = found.get("enum")
        if isinstance(choices, list) and choices:
            words = [value for value in choices if isinstance(value, str)]
            chosen: JsonValue = self._mentions.choice(words) or choices[0]
            return chosen
        if kind == "array":
            return []
        if kind in {"number", "integer"}:
            low, high = _bound(found.get("minimum")), _bound(found.get("maximum"))
            return _number(self._mentions.number(name), low, high, integer=kind == "integer")
        if kind == "boolean":
            return self._mentions.boolean(name)
        if kind == "null":
            return None
        return self._mentions.string()

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


def _bound(value: object) -> float | None:
    """A JSON Schema minimum or maximum, when it is a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


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
