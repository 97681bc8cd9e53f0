"""Typed errors: one class per gRPC status, each carrying the parsed google.rpc details.

Every failed call raises a subclass of `APIError`; the class says which status the server (or
the channel) answered, and its docstring says who has to act. `from_rpc_error` is the one place
that turns a `grpc.RpcError` into these classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from textgen._anys import unpack_any

__all__ = [
    "APIError",
    "Aborted",
    "AlreadyExists",
    "BlockedContentError",
    "Cancelled",
    "ConnectionError",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OperationError",
    "OperationTimeout",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "TextgenError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "UnsupportedByApi",
    "UsageError",
    "from_rpc_error",
    "parse_details",
]

D = TypeVar("D", bound=Message)


def parse_details(details: Sequence[any_pb2.Any]) -> tuple[Message, ...]:
    """Unpack each Any into its class (BadRequest, ErrorInfo, ...); unknown types stay Any."""
    return tuple(unpack_any(packed) for packed in details)


class TextgenError(Exception):
    """Base of every error this package raises on purpose."""


class _StatusInfo:
    """Read-only views over a google.rpc.Status: details, field violations, retry delay, reason."""

    details: tuple[Message, ...]

    def detail(self, kind: type[D]) -> D | None:
        """The first detail of the given message class, if the server sent one."""
        for item in self.details:
            if isinstance(item, kind):
                return item
        return None

    @property
    def field_violations(self) -> list[error_details_pb2.BadRequest.FieldViolation]:
        """Every BadRequest field violation (each has `.field` and `.description`)."""
        return [
            violation
            for item in self.details
            if isinstance(item, error_details_pb2.BadRequest)
            for violation in item.field_violations
        ]

    @property
    def retry_delay(self) -> float | None:
        """Seconds the server asked the caller to wait (RetryInfo), or None."""
        info = self.detail(error_details_pb2.RetryInfo)
        if info is None or not info.HasField("retry_delay"):
            return None
        return info.retry_delay.ToTimedelta().total_seconds()

    @property
    def reason(self) -> str | None:
        """The ErrorInfo reason, a stable UPPER_SNAKE_CASE identifier, or None."""
        info = self.detail(error_details_pb2.ErrorInfo)
        return info.reason if info is not None else None


class APIError(TextgenError, _StatusInfo):
    """A call ended with a non-OK gRPC status. The subclass names the status."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[Message] = (),
        status: status_pb2.Status | None = None,
        method: str | None = None,
        target: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)
        self.status = status
        self.method = method
        self.target = target

    def __str__(self) -> str:
        name = self.code.name if self.code is not None else "UNKNOWN"
        where = f" ({self.method})" if self.method else ""
        return f"{name}{where}: {self.message}"


class InvalidArgument(APIError):
    """The request is malformed; fix the fields named in `field_violations`. Do not retry."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(APIError):
    """The named resource does not exist, or the caller may not see it. Check the name."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(APIError):
    """A resource with that name exists already; pick another id or use the existing one."""

    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(APIError):
    """The caller is known but not allowed to do this; the account owner must grant access."""

    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(APIError):
    """The API key is missing or wrong; the caller must pass a valid `api_key`."""

    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(APIError):
    """A quota or rate limit was hit. Wait `retry_delay` seconds (the client does when told)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(APIError):
    """The system is not in a state that allows this call; the caller must change that first."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(APIError):
    """The call lost a race with another change; retry the whole read-modify-write sequence."""

    code = grpc.StatusCode.ABORTED


class OutOfRange(APIError):
    """A value is past the valid range (e.g. a page past the end); fix the request."""

    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(APIError):
    """The server does not offer this method; use another server or another method."""

    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(APIError):
    """The server broke an invariant; a server bug that its operators must fix."""

    code = grpc.StatusCode.INTERNAL


class Unavailable(APIError):
    """The service is down or overloaded for now; retrying later may work (the client did)."""

    code = grpc.StatusCode.UNAVAILABLE


class ConnectionError(Unavailable):
    """No connection to the target could be made; check the address and that a server runs."""


class DeadlineExceeded(APIError):
    """The call's time ran out, retries included; raise `timeout` or make the request smaller."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Cancelled(APIError):
    """The call was cancelled, usually by the caller itself."""

    code = grpc.StatusCode.CANCELLED


class DataLoss(APIError):
    """Data was lost or corrupted on the server; its operators must act."""

    code = grpc.StatusCode.DATA_LOSS


class Unknown(APIError):
    """The server failed without saying why; a server bug, or a status this client lacks."""

    code = grpc.StatusCode.UNKNOWN


_BY_CODE: dict[grpc.StatusCode, type[APIError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        Unauthenticated,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DeadlineExceeded,
        Cancelled,
        DataLoss,
        Unknown,
    )
}
_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}
_UNREACHABLE_HINTS = ("failed to connect", "dns resolution failed", "connection refused")


def error_class(code: grpc.StatusCode) -> type[APIError]:
    """The APIError subclass for a status code (Unknown for codes without one)."""
    return _BY_CODE.get(code, Unknown)


def from_status(
    status: status_pb2.Status, *, method: str | None = None, target: str | None = None
) -> APIError:
    """The APIError for a google.rpc.Status, with its details unpacked."""
    code = _GRPC_CODES.get(status.code, grpc.StatusCode.UNKNOWN)
    return error_class(code)(
        status.message,
        details=parse_details(status.details),
        status=status,
        method=method,
        target=target,
    )


def status_of(error: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status in a failed call's trailers (None without one), as
    `rpc_status.from_call` reads it; ValueError when the trailers disagree with the status.
    """
    # A failed call's RpcError is also its grpc.Call (sync) or carries the same accessors
    # (aio); the stubs type from_call's argument as grpc.Call alone, and its result not at all.
    status: status_pb2.Status | None = rpc_status.from_call(cast(grpc.Call, error))
    return status


def from_rpc_error(
    error: grpc.RpcError, *, method: str | None = None, target: str | None = None
) -> APIError:
    """Turn a failed grpc call (sync or aio) into the matching APIError subclass."""
    code = error.code() or grpc.StatusCode.UNKNOWN
    message = str(error.details() or "")
    status: status_pb2.Status | None
    try:
        status = status_of(error)
    except (ValueError, AttributeError):  # trailers disagree with the status line
        status = None
    details = parse_details(status.details) if status is not None else ()
    if code == grpc.StatusCode.UNAVAILABLE and any(
        hint in message.lower() for hint in _UNREACHABLE_HINTS
    ):
        return ConnectionError(
            f"could not reach {target}: {message}",
            details=details,
            status=status,
            method=method,
            target=target,
        )
    return error_class(code)(message, details=details, status=status, method=method, target=target)


class OperationError(TextgenError, _StatusInfo):
    """A long-running operation finished with an error; `status` is the google.rpc.Status."""

    def __init__(self, name: str, status: status_pb2.Status) -> None:
        self.operation = name
        self.status = status
        self.code: grpc.StatusCode = _GRPC_CODES.get(status.code, grpc.StatusCode.UNKNOWN)
        self.message = status.message
        self.details = parse_details(status.details)
        super().__init__(f"operation {name} failed with {self.code.name}: {status.message}")


class OperationTimeout(TextgenError, TimeoutError):
    """Waiting for an operation took longer than the caller's `timeout`; it may still finish."""

    def __init__(self, name: str, timeout: float) -> None:
        self.operation = name
        self.timeout = timeout
        super().__init__(f"operation {name} not done after {timeout:g}s; it keeps running")


class UsageError(TextgenError, TypeError):
    """The client was used in a way it does not support; fix the calling code."""


class UnsupportedByApi(UsageError):
    """The client's API flavour does not offer this method; raised before anything is sent."""

    def __init__(self, method: str, api: str) -> None:
        self.method = method
        self.api = api
        super().__init__(
            f"{method} is not offered by the {api!r} API; use a client with api='textgen' "
            f"against a server that speaks textgen.v1"
        )


class BlockedContentError(TextgenError):
    """The prompt or every candidate was blocked by a safety or policy filter; change the input."""

    def __init__(
        self, message: str, *, reasons: Sequence[str] = (), raw: Message | None = None
    ) -> None:
        super().__init__(message)
        self.reasons = list(reasons)
        self.raw = raw
