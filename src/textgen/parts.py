"""Builders for Part and Content protos, named as in google-genai.

`Part.from_text("Hi")` and the other `Part.from_*` builders return `textgen.v1` Part protos;
`UserContent(...)` and `ModelContent(...)` return Content protos with their role set. Anything
that takes contents accepts the results, alongside plain strings and dicts.

    contents = [
        UserContent("What is the weather like in Boston?"),
        ModelContent(Part.from_function_call(name="get_weather", args={"city": "Boston"})),
        Content(role="user", parts=[Part.from_function_response(
            name="get_weather", response={"result": "sunny"})]),
    ]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from google.protobuf import struct_pb2

from textgen import _functions
from textgen.v1 import content_pb2

__all__ = ["Content", "ModelContent", "Part", "UserContent"]

Content = content_pb2.Content
PartLike: TypeAlias = str | content_pb2.Part


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    # Plain JSON values pass as they are; dataclasses, enums and the like are made JSON first.
    return _functions.response_struct(dict(values))


class Part:
    """Builders for `textgen.v1.content_pb2.Part`; each returns a new Part proto."""

    def __init__(self) -> None:
        raise TypeError(
            "Part only builds protos: use Part.from_text(...) and the other from_* builders, "
            "or textgen.v1.content_pb2.Part(...) directly"
        )

    @staticmethod
    def from_text(text: str) -> content_pb2.Part:
        """A text part."""
        return content_pb2.Part(text=text)

    @staticmethod
    def from_function_call(
        name: str, args: Mapping[str, Any] | None = None, *, id: str = ""
    ) -> content_pb2.Part:
        """A call of a declared function, as the model would write it (for history)."""
        call = content_pb2.FunctionCall(name=name, id=id)
        if args is not None:
            call.args.CopyFrom(_struct(args))
        return content_pb2.Part(function_call=call)

    @staticmethod
    def from_function_response(
        name: str, response: Mapping[str, Any], *, id: str = ""
    ) -> content_pb2.Part:
        """The result of a function call, to send back to the model."""
        answer = content_pb2.FunctionResponse(name=name, id=id, response=_struct(response))
        return content_pb2.Part(function_response=answer)

    @staticmethod
    def from_uri(file_uri: str, mime_type: str = "") -> content_pb2.Part:
        """A reference to data stored elsewhere (Part.file_data)."""
        return content_pb2.Part(
            file_data=content_pb2.FileData(file_uri=file_uri, mime_type=mime_type)
        )

    @staticmethod
    def from_bytes(data: bytes, mime_type: str) -> content_pb2.Part:
        """Raw bytes sent inline, with their media type (Part.inline_data)."""
        return content_pb2.Part(inline_data=content_pb2.Blob(data=data, mime_type=mime_type))


def _parts(parts: PartLike | Sequence[PartLike]) -> list[content_pb2.Part]:
    listed = [parts] if isinstance(parts, str | content_pb2.Part) else list(parts)
    made = []
    for part in listed:
        if isinstance(part, str):
            made.append(content_pb2.Part(text=part))
        elif isinstance(part, content_pb2.Part):
            made.append(part)
        else:
            raise TypeError(f"expected a str or a Part, got {type(part).__name__}")
    return made


def UserContent(parts: PartLike | Sequence[PartLike]) -> content_pb2.Content:
    """A Content with role `user` holding `parts` (strings become text parts)."""
    return content_pb2.Content(role="user", parts=_parts(parts))


def ModelContent(parts: PartLike | Sequence[PartLike]) -> content_pb2.Content:
    """A Content with role `model` holding `parts` (strings become text parts)."""
    return content_pb2.Content(role="model", parts=_parts(parts))
