"""textgen._protobuf: is_repeated gives the right answer, and no DeprecationWarning, on any
runtime; unknown_field_numbers, has_unknown_fields and message_tree find unknown fields."""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass

import pytest
from google.protobuf import descriptor_pb2, struct_pb2
from google.protobuf.descriptor import FieldDescriptor
from textgen.v1 import content_pb2

from tests.wire import assert_passes_on_pure_python, field
from textgen._protobuf import (
    decoded_with_unknown_fields,
    has_unknown_fields,
    is_repeated,
    message_tree,
    unknown_field_numbers,
)

SCHEMA = content_pb2.Schema.DESCRIPTOR.fields_by_name
PART = content_pb2.Part.DESCRIPTOR.fields_by_name

CASES = [
    ("repeated string", SCHEMA["required"], True),
    ("repeated message", SCHEMA["any_of"], True),
    ("map", SCHEMA["properties"], True),
    ("enum", SCHEMA["type"], False),
    ("string", SCHEMA["description"], False),
    ("optional double", SCHEMA["minimum"], False),
    ("optional message", SCHEMA["items"], False),
    ("oneof member", PART["text"], False),
]


@pytest.mark.parametrize(("field", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cardinality(field: FieldDescriptor, expected: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # protobuf 6.32+ warns on `.label`
        assert is_repeated(field) is expected


@dataclass(frozen=True)
class OldDescriptor:
    """A field descriptor shaped as protobuf before 6.31 made it: a label, no is_repeated."""

    full_name: str
    label: int


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        (descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED, True),
        (descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL, False),
        (descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED, False),
    ],
)
def test_falls_back_to_the_label_on_older_runtimes(label: int, expected: bool) -> None:
    assert is_repeated(OldDescriptor("pkg.Message.field", label)) is expected


_PURE_PYTHON_CHECK = textwrap.dedent(
    """
    import warnings
    from google.protobuf.internal import api_implementation
    from textgen._protobuf import is_repeated
    from textgen.v1 import content_pb2

    assert api_implementation.Type() == "python", api_implementation.Type()
    fields = content_pb2.Schema.DESCRIPTOR.fields_by_name
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        found = {name: is_repeated(fields[name]) for name in ("required", "properties", "type")}
    assert found == {"required": True, "properties": True, "type": False}, found
    """
)


def test_pure_python_runtime() -> None:
    """The same answers from the pure-Python descriptors, which a process picks at start-up."""
    assert_passes_on_pure_python(_PURE_PYTHON_CHECK)


# Field 99 as a varint (tag 99 << 3 = 792, varint 0x98 0x06) and field 62 as two bytes.
_STRAY_VARINT = b"\x98\x06\x01"
_STRAY_BYTES = b"\xf2\x03\x02hi"


def test_unknown_field_numbers() -> None:
    data = content_pb2.Part(text="a").SerializeToString()
    part = content_pb2.Part.FromString(data + _STRAY_VARINT + _STRAY_BYTES + _STRAY_VARINT)
    assert unknown_field_numbers(part) == [99, 62, 99]
    assert unknown_field_numbers(content_pb2.Part.FromString(data)) == []
    content = content_pb2.Content(parts=[part])
    assert unknown_field_numbers(content) == []  # a sub-message's own are not included
    assert unknown_field_numbers(content.parts[0]) == [99, 62, 99]


def test_has_unknown_fields() -> None:
    clean = content_pb2.Content(role="user", parts=[content_pb2.Part(text="a")])
    kept = content_pb2.Content()
    kept.CopyFrom(clean)
    assert has_unknown_fields(kept) is False
    assert kept == clean
    assert kept.SerializeToString() == clean.SerializeToString()

    stray = content_pb2.Part.FromString(clean.parts[0].SerializeToString() + _STRAY_BYTES)
    deep = content_pb2.Content(role="user", parts=[content_pb2.Part(text="b"), stray])
    assert has_unknown_fields(deep) is True  # found two levels down


def test_decoded_with_unknown_fields() -> None:
    clean = content_pb2.Content(role="user", parts=[content_pb2.Part(text="a")])
    data = clean.SerializeToString()
    assert decoded_with_unknown_fields(content_pb2.Content.FromString(data), data) is False

    # Two levels down, before or after the known fields: found either way.
    part = content_pb2.Part(text="b").SerializeToString()
    for stray_part in (part + _STRAY_BYTES, _STRAY_VARINT + part):
        deep = field(2, b"user") + field(1, part) + field(1, stray_part)
        decoded = content_pb2.Content.FromString(deep)
        assert decoded_with_unknown_fields(decoded, deep) is True

    # Bytes that are not how we encode (the same field twice, a default value sent, the
    # role sent before the parts) but hold no unknown field: answered False, the message
    # left as decoded.
    for odd in (
        field(2, b"model") + field(2, b"user") + field(1, part),
        field(2, b"user") + field(1, part),
        field(2, b"") + field(1, part),
    ):
        decoded = content_pb2.Content.FromString(odd)
        assert decoded.SerializeToString() != odd
        expected = content_pb2.Content.FromString(odd)
        assert decoded_with_unknown_fields(decoded, odd) is False
        assert decoded == expected
    # ...and holding one, answered True.
    odd = field(2, b"user") + field(1, part + _STRAY_VARINT)
    assert decoded_with_unknown_fields(content_pb2.Content.FromString(odd), odd) is True


def test_message_tree() -> None:
    args = struct_pb2.Struct()
    args.update({"city": "Paris", "days": 2})
    call = content_pb2.FunctionCall(name="weather", args=args)
    content = content_pb2.Content(
        role="model", parts=[content_pb2.Part(text="a"), content_pb2.Part(function_call=call)]
    )
    paths = [path for path, _ in message_tree(content)]
    assert paths == [
        "",
        "parts[0]",
        "parts[1]",
        "parts[1].function_call",
        "parts[1].function_call.args",
        'parts[1].function_call.args.fields["city"]',
        'parts[1].function_call.args.fields["days"]',
    ]
    found = dict(message_tree(content, "contents[3]"))
    assert found['contents[3].parts[1].function_call.args.fields["days"]'] == struct_pb2.Value(
        number_value=2
    )


_PURE_PYTHON_UNKNOWN = textwrap.dedent(
    """
    from google.protobuf.internal import api_implementation
    from textgen._protobuf import has_unknown_fields, unknown_field_numbers
    from textgen.v1 import content_pb2

    assert api_implementation.Type() == "python", api_implementation.Type()
    data = content_pb2.Part(text="a").SerializeToString() + b"\\x98\\x06\\x01"
    found = unknown_field_numbers(content_pb2.Part.FromString(data))
    assert found == [99], found
    clean = content_pb2.Content(parts=[content_pb2.Part(text="a")])
    assert has_unknown_fields(clean) is False
    content = content_pb2.Content(parts=[clean.parts[0], content_pb2.Part.FromString(data)])
    assert content.ByteSize() > 0  # sizes cached before the check
    assert has_unknown_fields(content) is True
    assert content.parts[1].text == "a"
    """
)


def test_unknown_field_numbers_on_the_pure_python_runtime() -> None:
    assert_passes_on_pure_python(_PURE_PYTHON_UNKNOWN)
