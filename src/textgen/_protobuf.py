"""Protobuf APIs that read the same on every supported runtime: field cardinality and
unknown fields.

`FieldDescriptor.is_repeated` arrived in protobuf 6.31. From 6.32 reading `.label` warns
(DeprecationWarning), and protobuf 7 removed it, while releases before 6.31 offer only
`.label`. `is_repeated` below asks for the new attribute and falls back to the label only
where the attribute does not exist, so it never touches the deprecated one.

Both descriptor implementations go through it: the C-backed (upb) descriptors the default
runtime hands out and the pure-Python ones. Newer typing stubs give them separate classes,
older stubs know only the Python one, so the parameter is a small Protocol both satisfy.

A message's unknown fields (what it decoded but has no field for) used to be read with
`Message.UnknownFields()`, which no supported release implements any more (it raises
NotImplementedError). They all have `google.protobuf.unknown_fields.UnknownFieldSet` instead,
but the typing stubs of the older ones do not describe that module, so
`unknown_field_numbers` imports it by name and both sets of stubs accept the code. Those
stubs also leave out `Message.DiscardUnknownFields`, which `has_unknown_fields` calls.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Protocol, cast

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal import api_implementation
from google.protobuf.message import Message

# descriptor.proto's enum value for `repeated`; it is wire data and does not change.
_LABEL_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
# The runtime is chosen once per process, when protobuf is first imported.
_PURE_PYTHON = api_implementation.Type() == "python"


class FieldDescriptorLike(Protocol):
    """Any field descriptor, whichever implementation or typing stubs produced it."""

    @property
    def full_name(self) -> str:
        """The field's fully qualified name, e.g. `textgen.v1.Model.name`."""
        ...


class _Discarding(Protocol):
    # Message.DiscardUnknownFields, which the typing stubs for protobuf 5 do not declare.
    def DiscardUnknownFields(self) -> None: ...


class _Labelled(Protocol):
    # The shape of a descriptor from a runtime older than 6.31.
    @property
    def label(self) -> int: ...


def is_repeated(field: FieldDescriptorLike) -> bool:
    """True for a `repeated` field, maps included (a map is a repeated entry message)."""
    flag = getattr(field, "is_repeated", None)
    if flag is not None:
        return bool(flag)
    return cast("_Labelled", field).label == _LABEL_REPEATED


def unknown_field_numbers(message: Message) -> list[int]:
    """The numbers of the unknown fields `message` itself holds, in the order they arrived and
    once per occurrence; those of its sub-messages are not included."""
    module = importlib.import_module("google.protobuf.unknown_fields")
    return [field.field_number for field in module.UnknownFieldSet(message)]


def message_tree(message: Message, path: str = "") -> Iterator[tuple[str, Message]]:
    """`message` and every message set inside it, at any depth, each with its field path
    from `message` (`contents[0].parts[1]`, `args.fields["city"]`; "" for `message` itself),
    depth first in field-number order."""
    yield path, message
    for field, value in message.ListFields():
        if field.cpp_type != FieldDescriptor.CPPTYPE_MESSAGE:
            continue
        here = f"{path}.{field.name}" if path else field.name
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            if entry.fields_by_name["value"].cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
                import json  # noqa: PLC0415  (only paths into maps of messages need it)

                for key in sorted(value):
                    yield from message_tree(value[key], f"{here}[{json.dumps(key)}]")
        elif is_repeated(field):
            for index, item in enumerate(value):
                yield from message_tree(item, f"{here}[{index}]")
        else:
            yield from message_tree(value, here)


def has_unknown_fields(message: Message) -> bool:
    """True if `message` or any message inside it holds an unknown field.

    On the default runtime (upb, in C) the answer costs no walk in Python: the encoded size
    counts unknown fields, so it is taken, the unknown fields are discarded (recursively, in
    C) and it is taken again. So a message this answers True for may have lost its unknown
    fields; one it answers False for is left as it was. The pure-Python runtime caches sizes
    and does not refresh them when unknown fields are discarded (the message would even
    encode wrongly afterwards), so there every message in the tree is looked at instead.
    """
    if _PURE_PYTHON:
        return any(unknown_field_numbers(each) for _, each in message_tree(message))
    size = message.ByteSize()
    cast("_Discarding", message).DiscardUnknownFields()
    return message.ByteSize() != size


def decoded_with_unknown_fields(message: Message, data: bytes) -> bool:
    """True if `message`, just decoded from `data`, or any message inside it holds an
    unknown field. Like `has_unknown_fields`, it may discard them from a message it answers
    True for.

    On upb it usually costs one discard and one encoding, against two of each for
    `has_unknown_fields`: after the unknown fields are discarded, re-encoding the message
    gives back `data` byte for byte only if there were none (bytes that decode to a message
    with unknown fields cannot be what a message without them encodes to). Bytes that differ
    may just come from a sender that encodes differently (map entries in another order, a
    packed field sent unpacked...), so then a fresh decode is asked the slower way.
    """
    if _PURE_PYTHON:
        return has_unknown_fields(message)
    cast("_Discarding", message).DiscardUnknownFields()
    if message.SerializeToString() == data:
        return False
    return has_unknown_fields(type(message).FromString(data))
