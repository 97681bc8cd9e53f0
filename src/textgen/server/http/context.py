"""A servicer context for calls that arrive over HTTP.

HTTP calls run the very method handlers gRPC calls run, policies included (see
textgen.server.http.dispatch), and those handlers read a `grpc.aio.ServicerContext`: the
metadata for authentication and the journal, the time left, whether the caller went away, and
`abort_with_status` to end a call with a rich status. `HttpContext` answers the same
questions from the HTTP request: its headers are the metadata (in lower case, with `?key=`
given as `x-goog-api-key`), and an abort raises `HttpAbort`, carrying the whole
google.rpc.Status for the HTTP error body. HttpAbort is a grpc.aio.AbortError, so the error
policy lets it pass as it lets a gRPC abort pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import grpc
import grpc.aio
from google.rpc import status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


class HttpAbort(grpc.aio.AbortError):
    """A call ended by its handler, with the status to answer."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


class HttpContext:
    """What a handler asks of its context, answered for one HTTP request."""

    __slots__ = ("_deadline", "_disconnected", "_metadata", "_peer")

    def __init__(
        self,
        metadata: Sequence[tuple[str, str]],
        *,
        peer: str = "",
        timeout: float | None = None,
        disconnected: Callable[[], bool] | None = None,
    ) -> None:
        self._metadata = tuple(metadata)
        self._peer = peer
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._disconnected = disconnected

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        """The request's headers as call metadata."""
        return self._metadata

    def time_remaining(self) -> float | None:
        """Seconds left before the caller's deadline; None without one."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def cancelled(self) -> bool:
        """Whether the caller has gone away."""
        return self._disconnected is not None and self._disconnected()

    def done(self) -> bool:
        """Whether the call has ended (as seen by the handler)."""
        return self.cancelled()

    def peer(self) -> str:
        """The caller's address."""
        return self._peer

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: Any = (),  # noqa: ANN401 (grpc's metadata type)
    ) -> NoReturn:
        """End the call with `code` and `details`."""
        raise HttpAbort(status_pb2.Status(code=code.value[0], message=details))

    async def abort_with_status(self, status: grpc.Status) -> NoReturn:
        """End the call with a status built by grpc_status.rpc_status.to_status: the rich
        status travels in its trailing metadata, as it would on the wire."""
        for key, value in status.trailing_metadata or ():
            if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
                raise HttpAbort(status_pb2.Status.FromString(value))
        raise HttpAbort(status_pb2.Status(code=status.code.value[0], message=status.details))

    # Handlers may set these on a gRPC call; over HTTP they carry nothing.
    def set_code(self, code: grpc.StatusCode) -> None:
        """Ignored over HTTP."""

    def set_details(self, details: str) -> None:
        """Ignored over HTTP."""

    def set_trailing_metadata(self, metadata: Any) -> None:  # noqa: ANN401
        """Ignored over HTTP."""

    async def send_initial_metadata(self, metadata: Any) -> None:  # noqa: ANN401
        """Ignored over HTTP."""
