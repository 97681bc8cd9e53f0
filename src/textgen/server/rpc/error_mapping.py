"""The error policy: a ServiceError becomes its rich status, anything else INTERNAL.

Servicers raise `ServiceError` (see `textgen.server.rpc.errors`) for every expected failure and
leave the sending to this policy, which every method of the server goes through. An unexpected
exception is logged and answered as INTERNAL naming only its type, so one bad request never
takes the server down and never leaks internals. `context.abort(...)` ends a call by raising
AbortError; that passes through untouched.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from google.rpc import code_pb2

from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.errors import ServiceError, abort, make_error
from textgen.server.rpc.guard import with_guard

_LOG = logging.getLogger(__name__)


def internal_error(exc: BaseException) -> ServiceError:
    """INTERNAL for an exception no servicer expected; the message names only its type."""
    return make_error(code_pb2.INTERNAL, f"Internal error ({type(exc).__name__})")


async def fail(context: Context, exc: Exception) -> NoReturn:
    """End the call for `exc`: its own status for a ServiceError, INTERNAL otherwise."""
    if isinstance(exc, ServiceError):
        await abort(context, exc)
    _LOG.error("unexpected error in a servicer", exc_info=exc)
    await abort(context, internal_error(exc))


class ErrorMapping:
    """The policy; put it outermost so it also maps what the other policies raise."""

    def wrap(self, method: str, handler: Handler) -> Handler:
        """`handler` with its failures sent as rich statuses."""
        return with_guard(handler, failure=fail)
