"""The undecodable-request policy: bytes that do not decode get INVALID_ARGUMENT, not UNKNOWN.

grpc decodes a request before any servicer code runs, and a decoding failure otherwise
surfaces as a bare UNKNOWN. This policy swaps each method's deserializer for one that turns
a bad payload into a marker, and its behaviour rejects the marker with MALFORMED_REQUEST
details. Placed after Authentication, a caller without a valid key learns nothing about
what it sent.
"""

from __future__ import annotations

from textgen.server.rpc.aio_types import Handler
from textgen.server.rpc.errors import malformed_request
from textgen.server.rpc.guard import with_guard
from textgen.server.rpc.policy import Deserializer


class _Undecodable:
    """Stands in for a request whose bytes did not decode."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class MalformedRequests:
    """The policy."""

    def wrap(self, method: str, handler: Handler) -> Handler:
        """`handler` with a forgiving deserializer and a check of what it produced."""
        decode = handler.request_deserializer
        if decode is None:
            return handler

        def check(request: object, position: int | None) -> None:
            if isinstance(request, _Undecodable):
                raise malformed_request(method, request.reason)

        return with_guard(handler, request_deserializer=_forgiving(decode), check=check)


def _forgiving(decode: Deserializer) -> Deserializer:
    def safe_decode(data: bytes) -> object:
        try:
            return decode(data)
        except Exception as exc:  # protobuf raises DecodeError; anything else is as bad
            return _Undecodable(str(exc) or type(exc).__name__)

    return safe_decode
