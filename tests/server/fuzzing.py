"""Hypothesis strategies for protobuf messages, built from their descriptors.

`messages(descriptor)` draws instances of any message type: each field is left unset or
given a value of its type (scalars drawn with their edge values: the ends of each integer
range, NaN and the infinities, empty and long strings, unknown enum numbers), repeated
fields and maps with a few entries, nested messages to a bounded depth. Strings favour
values this server reads (resource names, MIME types, directives, prompts that name a
function), so that fuzzed requests get past the first checks often enough to reach deeper
code.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message
from hypothesis import strategies as st

from textgen._protobuf import is_repeated

MAX_NESTING = 4  # message levels below the request
MAX_REPEATED = 3

FieldDescriptor = descriptor.FieldDescriptor

STRINGS = (
    "",
    "models/gemini-1.5-flash",
    "models/text-bison-001",
    "models/gemini-1.0-pro-001",
    "models/embedding-001",
    "models/missing",
    "tunedModels/fuzzed",
    "datasets/fuzzed",
    "operations/fuzzed",
    "gpt://folder/gemini-1.5-flash",
    "application/json",
    "text/plain",
    "respond: fixed\nuppercase",
    "\n" * 64,
    "add 2 and 3 with lookup",
    "unsafe:violence:high",
    "x" * 300,
    "owner:me",
)
_INT_EDGES = {
    32: (0, 1, -1, 2**31 - 1, -(2**31), 10**9),
    64: (0, 1, -1, 2**63 - 1, -(2**63), 10**12),
}
_FLOAT_EDGES = (0.0, -0.0, 1.0, -1.0, 0.5, 1e9, float("nan"), float("inf"), float("-inf"))


def requests(
    message: descriptor.Descriptor, seeds: dict[str, Message]
) -> st.SearchStrategy[Message]:
    """Messages of the type, and (when `seeds` holds a valid one of its type) that seed with a
    drawn message merged over it, which gets past the first checks to the code behind them."""
    drawn = messages(message)
    seed = seeds.get(message.full_name)
    if seed is None:
        return drawn
    return drawn | drawn.map(lambda fuzzed: _merged(seed, fuzzed))


def _merged(seed: Message, fuzzed: Message) -> Message:
    merged = type(seed)()
    merged.CopyFrom(seed)
    merged.MergeFrom(fuzzed)
    return merged


def message_class(message: descriptor.Descriptor) -> type[Message]:
    """The generated (or pool-built) class of a message type."""
    found: type[Message] = message_factory.GetMessageClass(message)
    return found


def messages(message: descriptor.Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Instances of `message`, as the module docstring says."""
    return _messages(message, depth)


@functools.cache
def _messages(message: descriptor.Descriptor, depth: int) -> st.SearchStrategy[Message]:
    cls = message_class(message)
    # Most fields stay unset (three times in four), so that a drawn message is often
    # valid but for a field or two.
    fields = {
        field.name: st.one_of(st.none(), st.none(), st.none(), _field(field, depth))
        for field in message.fields
        if depth < MAX_NESTING or field.type != FieldDescriptor.TYPE_MESSAGE
    }
    return st.fixed_dictionaries(fields).map(lambda values: _build(cls, values))


def _build(cls: type[Message], values: dict[str, Any]) -> Message:
    built = cls()
    for name, value in values.items():
        if value is None:
            continue
        field = cls.DESCRIPTOR.fields_by_name[name]
        target = getattr(built, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for key, item in value:
                if isinstance(item, Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif is_repeated(field):
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value:
                    target.add().CopyFrom(item)
            else:
                target.extend(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            target.CopyFrom(value)
        else:
            setattr(built, name, value)
    return built


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key = _single(field.message_type.fields_by_name["key"], depth + 1)
        value = _single(field.message_type.fields_by_name["value"], depth + 1)
        return st.lists(st.tuples(key, value), max_size=MAX_REPEATED)
    single = _single(field, depth + 1)
    if is_repeated(field):
        return st.lists(single, max_size=MAX_REPEATED)
    return single


def _single(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    kind = field.type
    nested = field.message_type
    if kind == FieldDescriptor.TYPE_MESSAGE and nested is not None:
        return st.deferred(lambda: _messages(nested, depth))
    if kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        numbers = [value.number for value in field.enum_type.values]
        return st.sampled_from(numbers) | st.integers(-(2**31), 2**31 - 1)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_STRING:
        return st.sampled_from(STRINGS) | st.text(max_size=24)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=24)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        drawn = st.floats() if kind == FieldDescriptor.TYPE_DOUBLE else st.floats(width=32)
        return st.sampled_from(_FLOAT_EDGES) | drawn
    return _integers(kind)


def _integers(kind: int) -> st.SearchStrategy[int]:
    unsigned = kind in (
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
    )
    bits = (
        64
        if kind
        in (
            FieldDescriptor.TYPE_INT64,
            FieldDescriptor.TYPE_UINT64,
            FieldDescriptor.TYPE_SINT64,
            FieldDescriptor.TYPE_FIXED64,
            FieldDescriptor.TYPE_SFIXED64,
        )
        else 32
    )
    if unsigned:
        return st.sampled_from((0, 1, 2**bits - 1)) | st.integers(0, 2**bits - 1)
    edges = _INT_EDGES[bits]
    return st.sampled_from(edges) | st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
