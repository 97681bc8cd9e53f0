"""Bounds on the schemas a request gives for its answer, so that the work an answer takes
stays proportional to the request and to its output cap.

A schema arrives as a Schema message (GenerationConfig.response_schema, a
FunctionDeclaration's parameters and response) or as a JSON Schema document
(response_json_schema, parameters_json_schema, a batch's json_schema). Either is refused
up front, with INVALID_ARGUMENT naming the field and the limit, when:

- its subschemas nest more than MAX_SCHEMA_DEPTH levels deep (the root is level 1; a
  `$ref` is not followed for this count, so a schema may refer to itself);
- a Schema's minimum or maximum is NaN or infinite (JSON has neither);
- the fewest values a conforming answer holds exceed the request's max_output_tokens.
  Every JSON value is written with at least one token, so an answer needs at least as many
  tokens as values. `fewest_values` counts the value itself, each required member of an
  object, an array's minItems items (and its prefixItems up to that count), the fewest of
  the branches of anyOf/oneOf, the most of the branches of allOf, and the target of a `$ref`
  into the same document; below MAX_SCHEMA_DEPTH levels every value counts as one (an engine
  writes null there, as the fake does for schemas that refer to themselves). A subschema met
  again inside itself (a cycle of references) counts as one value there.

Each walk does a bounded amount of work: depth stops at the limit, counting stops as soon as
the count passes the cap it is checked against, and each subschema is counted at most once
per level.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from google.protobuf import struct_pb2

from textgen.server.validation.rules import Fault
from textgen.v1 import content_pb2

MAX_SCHEMA_DEPTH = 24
# How many subschemas fewest_values has open at once (levels, references and branches);
# past that a subschema counts as one value, so the walk never nears Python's stack limit.
_MAX_OPEN = 200

# Keywords whose value is one subschema, an object of subschemas, or a list of them
# (camelCase and the proto's snake_case spellings).
_ONE = frozenset(
    {
        "items",
        "additionalProperties",
        "additional_properties",
        "additionalItems",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_BY_NAME = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
_LIST = frozenset(
    {"allOf", "all_of", "anyOf", "any_of", "oneOf", "one_of", "prefixItems", "prefix_items"}
)


def size_message(cap: int, cap_field: str) -> str:
    """Why a schema that demands too many values for the output cap is refused."""
    return (
        f"asks for more than {cap} values (minItems and required members, nested), more than "
        f"{cap_field} ({cap}) allows: every value of the answer takes at least one token"
    )


# --- Schema messages ------------------------------------------------------------------------


def schema_faults(schema: content_pb2.Schema) -> Iterator[Fault]:
    """Each fault of a Schema tree: a non-finite minimum or maximum (at its own path), and
    nesting past MAX_SCHEMA_DEPTH (at the schema itself, reported once)."""
    pending: list[tuple[str, content_pb2.Schema, int]] = [("", schema, 1)]
    too_deep = False
    while pending:
        path, node, level = pending.pop()
        for bound in ("minimum", "maximum"):
            if node.HasField(bound) and not math.isfinite(getattr(node, bound)):
                yield f"{path}.{bound}", "must be a finite number (JSON has no NaN or Infinity)"
        children = _schema_children(path, node)
        if level >= MAX_SCHEMA_DEPTH:
            too_deep = too_deep or bool(children)
            continue
        pending.extend((child_path, child, level + 1) for child_path, child in children)
    if too_deep:
        yield "", f"nests subschemas more than {MAX_SCHEMA_DEPTH} levels deep"


def _schema_children(path: str, node: content_pb2.Schema) -> list[tuple[str, content_pb2.Schema]]:
    children = [(f'{path}.properties["{name}"]', child) for name, child in node.properties.items()]
    children.extend((f"{path}.any_of[{index}]", child) for index, child in enumerate(node.any_of))
    if node.HasField("items"):
        children.append((f"{path}.items", node.items))
    return children


# --- JSON Schema documents ------------------------------------------------------------------


def document_faults(document: struct_pb2.Value) -> Iterator[Fault]:
    """A JSON Schema document (a google.protobuf.Value) nested past MAX_SCHEMA_DEPTH."""
    if document.WhichOneof("kind") == "struct_value" and _too_deep(document.struct_value):
        yield "", f"nests subschemas more than {MAX_SCHEMA_DEPTH} levels deep"


def struct_faults(document: struct_pb2.Struct) -> Iterator[Fault]:
    """document_faults for a document held as a Struct (a batch's json_schema)."""
    if _too_deep(document):
        yield "", f"nests subschemas more than {MAX_SCHEMA_DEPTH} levels deep"


def _too_deep(root: struct_pb2.Struct) -> bool:
    pending: list[tuple[struct_pb2.Struct, int]] = [(root, 1)]
    while pending:
        node, level = pending.pop()
        for child in _subschemas(node):
            if level >= MAX_SCHEMA_DEPTH:
                return True
            pending.append((child, level + 1))
    return False


def _subschemas(node: struct_pb2.Struct) -> Iterator[struct_pb2.Struct]:
    """The object-valued subschemas directly inside one schema object."""
    for key, value in node.fields.items():
        if key in _ONE:
            if value.WhichOneof("kind") == "struct_value":
                yield value.struct_value
            elif key == "items" and value.WhichOneof("kind") == "list_value":
                yield from _objects(value.list_value)
        elif key in _BY_NAME and value.WhichOneof("kind") == "struct_value":
            for member in value.struct_value.fields.values():
                if member.WhichOneof("kind") == "struct_value":
                    yield member.struct_value
        elif key in _LIST and value.WhichOneof("kind") == "list_value":
            yield from _objects(value.list_value)


def _objects(values: struct_pb2.ListValue) -> Iterator[struct_pb2.Struct]:
    for value in values.values:
        if value.WhichOneof("kind") == "struct_value":
            yield value.struct_value


# --- the fewest values an answer holds --------------------------------------------------------


def fewest_values(document: object, cap: int) -> int:
    """The fewest JSON values an answer conforming to `document` (a JSON Schema as Python
    data) holds, counted as the module docstring says; any count above `cap` may be
    reported as cap + 1, since counting stops there."""
    return _Counter(document, cap).count(document, 1)


class _Counter:
    def __init__(self, root: object, cap: int) -> None:
        self._root = root
        self._cap = cap
        # (id of a subschema, level) -> its count, or 1 while it is being counted; the
        # document is not changed meanwhile, so ids stay valid.
        self._known: dict[tuple[int, int], int] = {}
        self._open = 0

    def count(self, schema: object, level: int) -> int:
        if not isinstance(schema, dict) or level > MAX_SCHEMA_DEPTH or self._open >= _MAX_OPEN:
            return 1
        key = (id(schema), level)
        known = self._known.get(key)
        if known is None:
            self._known[key] = 1
            self._open += 1
            try:
                known = self._known[key] = self._fresh(schema, level)
            finally:
                self._open -= 1
        return known

    def _fresh(self, schema: dict[str, Any], level: int) -> int:
        found = max(self._own(schema, level), self._every(schema, level))
        some = self._some(schema, level)
        if some is not None:
            found = max(found, some)
        reference = schema.get("$ref")
        if isinstance(reference, str):
            target = json_pointer(self._root, reference)
            if target is not None:
                found = max(found, self.count(target, level))
        return min(found, self._cap + 1)

    def _own(self, schema: dict[str, Any], level: int) -> int:
        """The value itself, plus its required members or its fewest items."""
        total = 1
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        extra = schema.get("additionalProperties", True)
        for name in dict.fromkeys(required if isinstance(required, list) else []):
            if isinstance(name, str):
                total += self.count(properties.get(name, extra), level + 1)
                if total > self._cap:
                    return total
        least = _least_items(schema)
        if least:
            prefix = schema.get("prefixItems", schema.get("prefix_items"))
            prefix = prefix if isinstance(prefix, list) else []
            rest = schema.get("items", True)
            if isinstance(rest, list):  # the older tuple form
                prefix, rest = rest, schema.get("additionalItems", True)
            for item in prefix[:least]:
                total += self.count(item, level + 1)
                if total > self._cap:
                    return total
            remaining = least - min(least, len(prefix))
            if remaining:
                total += remaining * self.count(rest, level + 1)
        return total

    def _every(self, schema: dict[str, Any], level: int) -> int:
        branches = schema.get("allOf", schema.get("all_of"))
        if not isinstance(branches, list):
            return 1
        return max((self.count(branch, level) for branch in branches), default=1)

    def _some(self, schema: dict[str, Any], level: int) -> int | None:
        for key in ("anyOf", "any_of", "oneOf", "one_of"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                return min(self.count(branch, level) for branch in branches)
        return None


def _least_items(schema: dict[str, Any]) -> int:
    value = schema.get("minItems", schema.get("min_items"))
    if isinstance(value, str) and value.isdigit():  # a proto int64 in JSON is a string
        return int(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return max(0, math.ceil(value))
    return 0


def json_pointer(root: object, reference: object) -> object | None:
    """The part of root a same-document reference (`#/...`, a JSON pointer) points to, or
    None (another kind of reference, or a pointer to nothing). The fake engine's JSON writer
    follows references with it too."""
    if not isinstance(reference, str) or not reference.startswith("#"):
        return None
    found = root
    for token in unquote(reference[1:]).split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(found, dict) and key in found:
            found = found[key]
        elif isinstance(found, list) and key.isdigit() and int(key) < len(found):
            found = found[int(key)]
        else:
            return None
    return found
