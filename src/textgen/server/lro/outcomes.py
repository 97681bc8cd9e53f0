"""What a finished operation carries when its job did not answer it: the errors of a stopped,
cancelled or abandoned job, and the packing of metadata and responses in an operation's API
flavour (textgen.server.lro.operations)."""

from __future__ import annotations

from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

from textgen import apis
from textgen.server.rpc.errors import ServiceError, make_error


def shutting_down() -> ServiceError:
    """UNAVAILABLE for a waiter on a server that is stopping."""
    return make_error(
        code_pb2.UNAVAILABLE,
        "The server is shutting down; retry the call (on another server, or once it is back)",
    )


def stopped_status() -> status_pb2.Status:
    """The error of an operation whose job was stopped by a server shutdown."""
    return status_pb2.Status(
        code=code_pb2.UNAVAILABLE,
        message="The server shut down before the job finished; start it again",
    )


def cancelled_status() -> status_pb2.Status:
    """The error a cancelled operation carries (google.rpc.Code CANCELLED, 1)."""
    return status_pb2.Status(code=code_pb2.CANCELLED, message="The operation was cancelled")


def ended_early() -> status_pb2.Status:
    """The error of an operation whose job returned without finishing it."""
    return status_pb2.Status(
        code=code_pb2.INTERNAL, message="The job ended without finishing its operation"
    )


def pack(message: Message, api: str) -> any_pb2.Any:
    """`message` in an Any with the type URL of flavour `api` (see textgen.apis)."""
    holder = any_pb2.Any()
    holder.Pack(message)
    if api != apis.TEXTGEN:
        holder.type_url = apis.type_url(api, message.DESCRIPTOR.full_name)
    return holder
