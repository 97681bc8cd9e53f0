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
stubs also leave out `Message.DiscardUnknownFields` and `EnumDescriptor.is_closed`.

Whether a message holds an unknown field anywhere could be learnt by asking every message of
its tree (the walk), but that is Python work per message, and the server asks it of every
request. On the default runtime (upb) the request's bytes are decoded once more instead, as
the request type's *merged shadow*: a message type made from it (on first use, in a private
pool) that decodes the same bytes into one message per field path rather than one per
element. In the shadow of each message type reached:

- every message field, repeated or a map, is a singular one, so protobuf merges all the
  elements into one message, and their unknown fields pile up in it;
- there are no oneofs (their members are plain fields), so a later element that sets
  another member does not clear the earlier one, unknown fields and all;
- strings are bytes (the real decoding has checked their UTF-8 already); an open enum is an
  int32, and a closed one (proto2) a copy of itself, which keeps undefined values as unknown
  fields, as the real message does; other scalars are what they were, repeated ones still
  repeated (those read both packed and unpacked encodings).

Every field keeps its number and wire type, so what the real message would keep as unknown,
the shadow keeps as unknown too, in the merged message for the same path. That tree is
small, so its encoded size before and after discarding its unknown fields answers cheaply.

The shadow can see unknown fields where the request holds none: a later field that replaces
an earlier one (a oneof member, a map key sent twice) drops the earlier one's unknown fields
from the request, not from the shadow. Groups and MessageSets encode differently, so the
shadow leaves them out and their bytes count as unknown there. So do the bytes of anything
nested below SHADOW_DEPTH: where types recur, the shadow is unrolled level by level and
stops there, because upb's discard stops 63 levels down and a deeper shadow could hide an
unknown field from it. So the shadow's False is the answer, and its True is checked by the
walk. The pure-Python runtime always walks: it
caches encoded sizes and does not refresh them after a discard.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from typing import Any, Protocol, cast

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.internal import api_implementation
from google.protobuf.message import DecodeError, Message

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
    """True if `message` or any message inside it holds an unknown field; the message is
    left as it was. On upb: the merged shadow of its encoding, then the walk if need be."""
    if _PURE_PYTHON:
        return _holds_unknown(message)
    data = message.SerializePartialToString()
    return may_hold_unknown_fields(type(message), data) and _holds_unknown(message)


def decoded_with_unknown_fields(message: Message, data: bytes) -> bool:
    """True if `message`, just decoded from `data`, or any message inside it holds an unknown
    field. It may discard the unknown fields of a message it answers True for.

    The shadow decodes `data`, so nothing is encoded, except for a small `data` (under
    _SMALL bytes), where one discard and one encoding of `message` cost less than building
    the merged tree: getting `data` back proves there were no unknown fields (bytes that
    decode to a message holding some cannot be what the message without them encodes to).
    That proof needs the discard to reach every level, and so small an encoding cannot nest
    deeper than it reaches. Other bytes (unknown fields, or a sender that encodes
    differently) still go to the shadow.
    """
    if _PURE_PYTHON:
        return _holds_unknown(message)
    if len(data) < _SMALL:
        discarding: Any = message  # no cast() call: this runs for every small request
        discarding.DiscardUnknownFields()
        if discarding.SerializePartialToString() == data:
            return False
        message = type(message).FromString(data)  # with any unknown fields it lost
    return may_hold_unknown_fields(type(message), data) and _holds_unknown(message)


def may_hold_unknown_fields(message_class: type[Message], data: bytes) -> bool:
    """False only if `data`, decoded as `message_class`, gives a message without an unknown
    field at any depth. True when it gives one with an unknown field, and also for some
    encodings that give none: a oneof member set and then replaced by another, a map key
    sent twice, nesting deeper than the shadow follows (SHADOW_DEPTH), and bytes that do not
    decode. Decoding `data` as the shadow costs a little less than decoding it for real.
    """
    if _PURE_PYTHON:
        try:
            return _holds_unknown(message_class.FromString(data))
        except DecodeError:
            return True
    # Newer typing stubs give upb's descriptors a class of their own; both have what is used.
    message_type: Any = message_class.DESCRIPTOR
    shadow = _shadow_type(message_type)
    if shadow is None:
        return True
    try:
        merged = shadow.FromString(data)
    except DecodeError:
        return True
    size = merged.ByteSize()
    cast("_Discarding", merged).DiscardUnknownFields()
    return merged.ByteSize() != size


def _holds_unknown(message: Message) -> bool:
    # The walk: every message message_tree reaches, without the paths, which would make it cost
    # three times as much (it runs for every request the shadow suspects).
    unknown_fields = importlib.import_module("google.protobuf.unknown_fields")
    waiting = [message]
    while waiting:
        each = waiting.pop()
        if len(unknown_fields.UnknownFieldSet(each)):
            return True
        for field, value in each.ListFields():
            if field.cpp_type != FieldDescriptor.CPPTYPE_MESSAGE:
                continue
            entry = field.message_type
            if entry is not None and entry.GetOptions().map_entry:
                if entry.fields_by_name["value"].cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
                    waiting.extend(value.values())
            elif is_repeated(field):
                waiting.extend(value)
            else:
                waiting.append(value)
    return False


# --- the merged shadow ------------------------------------------------------------------

# upb's DiscardUnknownFields reaches the first 63 levels of a message (the message itself at
# level 0, what it holds at 1, ...), however deep the message goes. So a shadow follows
# message fields down to SHADOW_DEPTH and no further, and an encoding shorter than _SMALL
# cannot hold a message below the reach (each level costs at least a tag and a length).
_DISCARD_REACH = 63
SHADOW_DEPTH = 60
_SMALL = 2 * _DISCARD_REACH
_SHADOW_PACKAGE = "textgen_shadow"
_Field = descriptor_pb2.FieldDescriptorProto
_UNBUILT = object()
_shadows: dict[Descriptor, object] = {}  # message type -> its shadow class, or None
_shadows_lock = threading.Lock()


class _Closable(Protocol):
    # EnumDescriptor.is_closed, which the typing stubs for protobuf 5 do not declare.
    @property
    def is_closed(self) -> bool: ...


def _shadow_type(message_type: Descriptor) -> type[Message] | None:
    # The shadow class of `message_type`, built on first use; None if it cannot be built.
    found = _shadows.get(message_type, _UNBUILT)
    if found is _UNBUILT:
        with _shadows_lock:
            found = _shadows.get(message_type, _UNBUILT)
            if found is _UNBUILT:
                found = _shadows[message_type] = _build_shadow(message_type)
    return cast("type[Message] | None", found)


def _build_shadow(root: Descriptor) -> type[Message] | None:
    if root.GetOptions().message_set_wire_format:
        return None
    shadows = _ShadowFile(root)
    # Older typing stubs leave the pool's methods untyped, newer ones type them: Any suits both.
    pool: Any = descriptor_pool.DescriptorPool()
    try:
        pool.Add(shadows.file)
    except (TypeError, ValueError):  # not expected; the walk answers instead
        return None
    found: type[Message] = message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"{_SHADOW_PACKAGE}.{shadows.root}")
    )
    return found


class _ShadowFile:
    """The shadow of `root` and of every message type it reaches, as one proto2 file."""

    def __init__(self, root: Descriptor) -> None:
        self.file = descriptor_pb2.FileDescriptorProto(
            name="textgen/_shadow.proto", package=_SHADOW_PACKAGE, syntax="proto2"
        )
        self._names: dict[tuple[Descriptor, int | None], str] = {}
        self._enums: dict[EnumDescriptor, str] = {}
        self._heights: dict[Descriptor, int | None] = {}
        self._visiting: set[Descriptor] = set()
        self._unfilled: list[tuple[descriptor_pb2.DescriptorProto, Descriptor, int | None]] = []
        self.root = self._message(root, 0)
        while self._unfilled:
            self._fill(*self._unfilled.pop())

    def _message(self, message: Descriptor, level: int | None) -> str:
        # The shadow of `message` at `level`, or the one shared by all levels (level None)
        # when no level the shadow reaches can take it deeper than SHADOW_DEPTH.
        height = self._height(message)
        if level is not None and height is not None and level + height <= SHADOW_DEPTH:
            level = None
        name = self._names.get((message, level))
        if name is None:
            name = self._names[message, level] = f"M{len(self._names)}"
            proto = self.file.message_type.add(name=name)
            self._unfilled.append((proto, message, level))
        return name

    def _height(self, message: Descriptor) -> int | None:
        # How many levels of followed message fields lie below `message` at most; None if
        # they do not end (a recursive type is reachable).
        if message in self._heights:
            return self._heights[message]
        if message in self._visiting:
            return None
        self._visiting.add(message)
        height: int | None = 0
        for field in message.fields:
            if _followed(field) and height is not None:
                assert field.message_type is not None
                below = self._height(field.message_type)
                height = None if below is None else max(height, below + 1)
        self._visiting.discard(message)
        self._heights[message] = height
        return height

    def _fill(
        self, proto: descriptor_pb2.DescriptorProto, message: Descriptor, level: int | None
    ) -> None:
        for field in message.fields:
            label = _Field.LABEL_REPEATED if is_repeated(field) else _Field.LABEL_OPTIONAL
            kind, type_name = field.type, ""
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                if not _followed(field) or level == SHADOW_DEPTH:
                    continue
                assert field.message_type is not None
                below = None if level is None else level + 1
                type_name = f".{_SHADOW_PACKAGE}.{self._message(field.message_type, below)}"
                label = _Field.LABEL_OPTIONAL
            elif field.type == FieldDescriptor.TYPE_GROUP:
                continue
            elif field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
                kind, label = _Field.TYPE_BYTES, _Field.LABEL_OPTIONAL
            elif field.type == FieldDescriptor.TYPE_ENUM:
                assert field.enum_type is not None
                if cast("_Closable", field.enum_type).is_closed:
                    type_name = f".{_SHADOW_PACKAGE}.{self._enum(field.enum_type)}"
                else:
                    kind = _Field.TYPE_INT32
            added = proto.field.add(name=field.name, number=field.number, label=label, type=kind)
            if type_name:
                added.type_name = type_name

    def _enum(self, enum: EnumDescriptor) -> str:
        # A closed enum's copy: the same numbers (each once), so that a number it does not
        # define goes to the unknown fields here as it does in the real message.
        name = self._enums.get(enum)
        if name is None:
            name = self._enums[enum] = f"E{len(self._enums)}"
            proto = self.file.enum_type.add(name=name)
            for number in dict.fromkeys(value.number for value in enum.values):
                proto.value.add(name=f"{name}_{len(proto.value)}", number=number)
        return name


def _followed(field: FieldDescriptor) -> bool:
    # A message field the shadow follows: not a group, not a MessageSet (their encodings
    # differ); the shadow leaves those out, so what they hold counts as unknown there.
    message = field.message_type
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and message is not None
        and not message.GetOptions().message_set_wire_format
    )
