"""google.protobuf.Any: find a message class by type URL and unpack into it.

An upstream API flavour packs our operation payloads under its own names
(`google.ai.generativelanguage.v1beta.TunedModel`; see textgen.apis). Those names resolve to
our classes, which read the same bytes, and never to another class of that name in the
default pool: a process that imports Google's own package has one there too.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf import any_pb2, descriptor, message_factory
from google.protobuf.message import Message

from textgen.apis import canonical_type_name

T = TypeVar("T", bound=Message)


def message_class(full_name: str) -> type[Message] | None:
    """The generated class of a message in the default pool, or None if it is not loaded;
    ours for a flavour's name of one of our types."""
    # The default pool, reached through a file that lives in it: older protobuf stubs leave
    # descriptor_pool.Default() untyped, newer ones type it, and this reads the same in both.
    pool = any_pb2.DESCRIPTOR.pool
    ours = canonical_type_name(full_name)
    if ours is not None:
        full_name = ours
    try:
        found: descriptor.Descriptor = pool.FindMessageTypeByName(full_name)
    except KeyError:
        return None
    kind: type[Message] = message_factory.GetMessageClass(found)
    return kind


def unpack(packed: any_pb2.Any, kind: type[T]) -> T:
    """The message inside `packed` as `kind`, also under a flavour's name for it (TypeError
    when it holds another type)."""
    message = kind()
    if packed.Unpack(message):
        return message
    if canonical_type_name(packed.TypeName()) == kind.DESCRIPTOR.full_name:
        message.ParseFromString(packed.value)
        return message
    raise TypeError(f"expected {kind.DESCRIPTOR.full_name}, found {packed.TypeName()}")


def unpack_any(packed: any_pb2.Any) -> Message:
    """The message inside `packed`, by its type URL; the Any itself when the type is unknown."""
    kind = message_class(packed.TypeName())
    return unpack(packed, kind) if kind is not None else packed
