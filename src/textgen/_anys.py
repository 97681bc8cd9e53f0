"""google.protobuf.Any: find a message class by type URL and unpack into it."""

from __future__ import annotations

from typing import TypeVar

from google.protobuf import any_pb2, descriptor, message_factory
from google.protobuf.message import Message

T = TypeVar("T", bound=Message)


def message_class(full_name: str) -> type[Message] | None:
    """The generated class of a message in the default pool, or None if it is not loaded."""
    # The default pool, reached through a file that lives in it: older protobuf stubs leave
    # descriptor_pool.Default() untyped, newer ones type it, and this reads the same in both.
    pool = any_pb2.DESCRIPTOR.pool
    try:
        found: descriptor.Descriptor = pool.FindMessageTypeByName(full_name)
    except KeyError:
        return None
    kind: type[Message] = message_factory.GetMessageClass(found)
    return kind


def unpack(packed: any_pb2.Any, kind: type[T]) -> T:
    """The message inside `packed` as `kind` (TypeError when it holds another type)."""
    message = kind()
    if not packed.Unpack(message):
        raise TypeError(f"expected {kind.DESCRIPTOR.full_name}, found {packed.TypeName()}")
    return message


def unpack_any(packed: any_pb2.Any) -> Message:
    """The message inside `packed`, by its type URL; the Any itself when the type is unknown."""
    kind = message_class(packed.TypeName())
    return unpack(packed, kind) if kind is not None else packed
