"""Python functions as tools: declarations from signatures and docstrings, and calling them."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any, get_type_hints

from google.protobuf import json_format, struct_pb2

from textgen import _schema
from textgen.v1 import content_pb2

_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?):\s*$")
_ARG = re.compile(r"^\s*(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_SPHINX = re.compile(r"^\s*:param\s+(?:\S+\s+)?(\w+):\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The description and per-argument notes of a Google- or Sphinx-style docstring."""
    text = inspect.cleandoc(doc or "")
    summary: list[str] = []
    notes: dict[str, str] = {}
    section = ""
    current = ""
    for line in text.splitlines():
        heading = _SECTION.match(line)
        sphinx = _SPHINX.match(line)
        if heading:
            section, current = heading.group(1), ""
        elif sphinx:
            current = sphinx.group(1)
            notes[current] = sphinx.group(2).strip()
        elif section in ("Args", "Arguments", "Parameters"):
            match = _ARG.match(line)
            if match and line.startswith(("    ", "  ", "\t")) and not line.startswith("        "):
                current = match.group(1).lstrip("*")
                notes[current] = match.group(3).strip()
            elif current and line.strip():
                notes[current] = f"{notes[current]} {line.strip()}".strip()
        elif not section and not line.lstrip().startswith(":"):
            summary.append(line)
    return "\n".join(summary).strip(), notes


def declare(function: Callable[..., Any]) -> content_pb2.FunctionDeclaration:
    """A FunctionDeclaration from a function's name, type hints and docstring."""
    name = getattr(function, "__name__", type(function).__name__)
    description, notes = parse_docstring(inspect.getdoc(function))
    signature = inspect.signature(function)
    hints = get_type_hints(function)
    declaration = content_pb2.FunctionDeclaration(name=name, description=description or name)
    properties: dict[str, content_pb2.Schema] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name not in hints:
            raise TypeError(f"{name}(): annotate parameter {param.name!r} so it can be declared")
        properties[param.name] = _schema.from_type(hints[param.name], notes.get(param.name, ""))
        if param.default is param.empty:
            required.append(param.name)
    if properties:
        declaration.parameters.type = content_pb2.OBJECT
        for key, value in properties.items():
            declaration.parameters.properties[key].CopyFrom(value)
        declaration.parameters.required.extend(required)
        declaration.parameters.property_ordering.extend(properties)
    returns = hints.get("return")
    if returns is not None and returns is not type(None):
        # The return shape is a hint only; leave it out when it cannot be described.
        with contextlib.suppress(TypeError):
            declaration.response.CopyFrom(_schema.from_type(returns))
    return declaration


def arguments(function: Callable[..., Any], args: struct_pb2.Struct) -> dict[str, Any]:
    """The model's call arguments, converted to the function's annotated types."""
    raw = json_format.MessageToDict(args)
    hints = get_type_hints(function)
    return {key: _schema.to_python(value, hints.get(key, Any)) for key, value in raw.items()}


def _jsonable(value: Any) -> Any:  # noqa: ANN401
    if _schema.is_pydantic_model(type(value)):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def response_struct(result: Any) -> struct_pb2.Struct:  # noqa: ANN401
    """A function's return value as the Struct of a FunctionResponse.

    A dict is sent as it is; any other value is wrapped as {"result": value}. An exception
    the function raised is sent as {"error": "..."} so the model can react to it.
    """
    if isinstance(result, BaseException):
        payload: Any = {"error": f"{type(result).__name__}: {result}"}
    else:
        payload = _jsonable(result)
        if not isinstance(payload, dict):
            payload = {"result": payload}
    struct = struct_pb2.Struct()
    struct.update(payload)
    return struct
