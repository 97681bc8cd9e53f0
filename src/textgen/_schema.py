"""Schemas: Python types and JSON-schema dicts to the Schema proto, and answers back to Python."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import importlib
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from textgen.v1 import content_pb2

Schema = content_pb2.Schema

_SIMPLE: dict[Any, content_pb2.Type.ValueType] = {
    str: content_pb2.STRING,
    int: content_pb2.INTEGER,
    float: content_pb2.NUMBER,
    bool: content_pb2.BOOLEAN,
    type(None): content_pb2.NULL,
}


def _pydantic_base() -> type | None:
    try:
        pydantic = importlib.import_module("pydantic")  # optional: only if installed
    except ImportError:
        return None
    base: type = pydantic.BaseModel
    return base


def is_pydantic_model(annotation: object) -> bool:
    """True for a pydantic BaseModel subclass (False when pydantic is not installed)."""
    base = _pydantic_base()
    return base is not None and isinstance(annotation, type) and issubclass(annotation, base)


def is_typed_dict(annotation: object) -> bool:
    """True for a TypedDict class, from `typing` or from `typing_extensions` (whose class
    `typing.is_typeddict` does not recognise on every Python)."""
    if not isinstance(annotation, type):
        return False
    if typing.is_typeddict(annotation):
        return True
    return (
        issubclass(annotation, dict)
        and hasattr(annotation, "__required_keys__")
        and hasattr(annotation, "__total__")
    )


class RecursiveSchemaError(TypeError):
    """A type or JSON schema refers to itself; a Schema proto has no references to say so."""


def _recursive(name: str, path: list[str]) -> RecursiveSchemaError:
    cycle = " -> ".join([*path[path.index(name) :], name])
    return RecursiveSchemaError(
        f"{name} is recursive ({cycle}), and a Schema cannot refer to itself; "
        "describe the answer without the cycle, or pass a JSON Schema with $defs and $ref "
        "as response_json_schema"
    )


def from_type(annotation: Any, description: str = "") -> Schema:  # noqa: ANN401
    """The Schema of a Python type annotation.

    Supports str, int, float, bool, None, list/tuple/set/Sequence, dict/Mapping, Optional and
    unions, Literal, Enum, datetime/date, dataclasses, TypedDicts and pydantic models.
    """
    schema = _from_type(_listed(annotation), [])
    if description:
        schema.description = description
    return schema


def _listed(annotation: Any) -> Any:  # noqa: ANN401
    """`[T]` (google-generativeai's `list([Recipe])`) as `list[T]`; anything else as it is."""
    if isinstance(annotation, list) and len(annotation) == 1:
        return list[annotation[0]]
    return annotation


def _from_type(annotation: Any, path: list[str]) -> Schema:  # noqa: ANN401
    if isinstance(annotation, type) and (
        dataclasses.is_dataclass(annotation) or is_typed_dict(annotation)
    ):
        name = annotation.__qualname__
        if name in path:
            raise _recursive(name, path)
        path = [*path, name]
    if annotation in _SIMPLE:
        return Schema(type=_SIMPLE[annotation])
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        nullable = len(members) < len(args)
        if len(members) == 1:
            inner = _from_type(members[0], path)
        else:
            inner = Schema(any_of=[_from_type(a, path) for a in members])
            inner.type = content_pb2.TYPE_UNSPECIFIED
        inner.nullable = nullable or inner.nullable
        return inner
    if origin is Literal:
        return Schema(type=content_pb2.STRING, format="enum", enum=[str(a) for a in args])
    if origin in (list, tuple, set, frozenset) or _is_abc(origin, "Sequence", "Set", "Iterable"):
        item = args[0] if args else str
        return Schema(type=content_pb2.ARRAY, items=_from_type(item, path))
    if origin is dict or _is_abc(origin, "Mapping"):
        return Schema(type=content_pb2.OBJECT)
    if annotation in (list, tuple, set):
        return Schema(type=content_pb2.ARRAY, items=Schema(type=content_pb2.STRING))
    if annotation is dict:
        return Schema(type=content_pb2.OBJECT)
    if annotation in (datetime.datetime, datetime.date):
        fmt = "date-time" if annotation is datetime.datetime else "date"
        return Schema(type=content_pb2.STRING, format=fmt)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = [str(member.value) for member in annotation]
        return Schema(type=content_pb2.STRING, format="enum", enum=values)
    if is_pydantic_model(annotation):
        return from_json_schema(annotation.model_json_schema())
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = get_type_hints(annotation)
        fields = dataclasses.fields(annotation)
        required = [
            f.name
            for f in fields
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        return _object({f.name: _from_type(hints[f.name], path) for f in fields}, required)
    if is_typed_dict(annotation):
        hints = get_type_hints(annotation)
        required_keys: frozenset[str] = getattr(annotation, "__required_keys__", frozenset())
        return _object(
            {k: _from_type(v, path) for k, v in hints.items()},
            [k for k in hints if k in required_keys],
        )
    raise TypeError(f"cannot describe {annotation!r} as a Schema; use a simpler type")


def _is_abc(origin: object, *names: str) -> bool:
    return (
        getattr(origin, "__module__", "") == "collections.abc"
        and getattr(origin, "__name__", "") in names
    )


def _object(properties: Mapping[str, Schema], required: list[str]) -> Schema:
    schema = Schema(type=content_pb2.OBJECT, required=required)
    for name, prop in properties.items():
        schema.properties[name].CopyFrom(prop)
    schema.property_ordering.extend(properties)
    return schema


_JSON_TYPES: dict[str, content_pb2.Type.ValueType] = {
    "string": content_pb2.STRING,
    "number": content_pb2.NUMBER,
    "integer": content_pb2.INTEGER,
    "boolean": content_pb2.BOOLEAN,
    "array": content_pb2.ARRAY,
    "object": content_pb2.OBJECT,
    "null": content_pb2.NULL,
}
_NUMBERS = {"minimum": "minimum", "maximum": "maximum"}
_COUNTS = {
    "minItems": "min_items",
    "maxItems": "max_items",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minProperties": "min_properties",
    "maxProperties": "max_properties",
}
_TEXTS = ("format", "title", "description", "pattern")


def from_json_schema(source: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> Schema:
    """The Schema of a JSON-schema (or OpenAPI) dict; `$ref`s into `$defs` are inlined.

    A `$ref` that leads back to a definition it is inside of (a recursive model) raises
    RecursiveSchemaError: inlining it would never end.
    """
    defs = defs if defs is not None else source.get("$defs", source.get("definitions", {}))
    return _from_json(source, defs, [])


def _from_json(source: Mapping[str, Any], defs: Mapping[str, Any], path: list[str]) -> Schema:
    if "$ref" in source:
        name = str(source["$ref"]).rsplit("/", 1)[-1]
        if name in path:
            raise _recursive(name, path)
        if name not in defs:
            raise TypeError(f"$ref {source['$ref']!r} names no definition in $defs")
        return _from_json(defs[name], defs, [*path, name])
    schema = Schema()
    kind = source.get("type")
    if isinstance(kind, list):
        schema.nullable = "null" in kind
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(kind, str):
        schema.type = _JSON_TYPES.get(kind.lower(), content_pb2.TYPE_UNSPECIFIED)
    for key in _TEXTS:
        if key in source:
            setattr(schema, key, str(source[key]))
    if source.get("nullable"):
        schema.nullable = True
    if "enum" in source:
        schema.enum.extend(str(v) for v in source["enum"] if v is not None)
        schema.type = schema.type or content_pb2.STRING
    for camel, snake in {**_NUMBERS, **_COUNTS}.items():
        value = source.get(camel, source.get(snake))
        if value is not None:
            setattr(schema, snake, value)
    if "items" in source:
        schema.items.CopyFrom(_from_json(source["items"], defs, path))
    for name, prop in source.get("properties", {}).items():
        schema.properties[name].CopyFrom(_from_json(prop, defs, path))
    schema.required.extend(source.get("required", []))
    ordering = source.get("propertyOrdering", source.get("property_ordering"))
    if ordering:
        schema.property_ordering.extend(ordering)
    _any_of(schema, source.get("anyOf", source.get("any_of", [])), defs, path)
    return schema


def _any_of(
    schema: Schema, options: list[Mapping[str, Any]], defs: Mapping[str, Any], path: list[str]
) -> None:
    real = [o for o in options if o.get("type") != "null"]
    if len(real) < len(options):
        schema.nullable = True
    if len(real) == 1:  # Optional[X] in pydantic's output: just X, nullable
        nullable = schema.nullable
        description = schema.description
        schema.MergeFrom(_from_json(real[0], defs, path))
        schema.nullable = nullable
        schema.description = description or schema.description
    else:
        schema.any_of.extend(_from_json(o, defs, path) for o in real)


def response_schema(spec: Any) -> tuple[Schema, Callable[[str], Any]]:  # noqa: ANN401
    """The Schema for `response_schema`, and how to parse the JSON answer into Python."""
    if isinstance(spec, Schema):
        return spec, json.loads
    if isinstance(spec, Mapping):
        return from_json_schema(spec), json.loads
    spec = _listed(spec)
    return from_type(spec), lambda text: to_python(json.loads(text), spec)


def to_python(value: Any, annotation: Any) -> Any:  # noqa: ANN401
    """Convert decoded JSON `value` into `annotation`: dataclasses, enums, pydantic, lists."""
    if value is None:
        return None
    if is_pydantic_model(annotation):
        return annotation.model_validate(value)
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = get_type_hints(annotation)
        known = {f.name for f in dataclasses.fields(annotation)}
        return annotation(**{k: to_python(v, hints[k]) for k, v in value.items() if k in known})
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(value)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return to_python(value, members[0]) if len(members) == 1 else value
    if origin in (list, tuple, set, frozenset) and args and isinstance(value, list):
        items = [to_python(v, args[0]) for v in value]
        return items if origin is list else origin(items)
    if annotation is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if annotation is float and isinstance(value, int):
        return float(value)
    return value
