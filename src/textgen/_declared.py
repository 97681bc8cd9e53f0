"""Proto files built in Python (the Yandex shapes of textgen.yandex_operation and
textgen.yandex_batch): each declared in the default descriptor pool once, and its classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor_pb2, message_factory
from google.protobuf.message import Message


# Descriptors are Any: older protobuf stubs leave them untyped, newer ones type them.
def declare(name: str, build: Callable[[], descriptor_pb2.FileDescriptorProto]) -> Any:  # noqa: ANN401
    """The file `name` of the default pool, added from `build()` unless it is there already."""
    pool: Any = descriptor_pb2.DESCRIPTOR.pool
    try:
        return pool.FindFileByName(name)
    except KeyError:
        return pool.AddSerializedFile(build().SerializeToString())


def message_class(file: Any, name: str) -> type[Message]:  # noqa: ANN401
    """The class of the message `name` declared at the top level of `file`."""
    return message_factory.GetMessageClass(file.message_types_by_name[name])
