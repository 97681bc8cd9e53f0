"""Servicer method wrappers: ServiceError becomes its rich status, anything else INTERNAL.

Decorate every servicer method with `unary` (one response, including client streaming)
or `stream` (server streaming). An expected failure is raised as a `ServiceError` and sent
with `errors.abort`; an unexpected exception is logged and sent as INTERNAL, so one bad
request never takes the server down::

    class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
        @unary
        async def GetModel(self, request, context) -> model_pb2.Model: ...

        @stream
        async def StreamGenerateText(self, request, context) -> AsyncIterator[...]: ...
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import NoReturn, TypeVar

import grpc
from google.rpc import code_pb2

from textgen.server.rpc.aio_types import Context
from textgen.server.rpc.errors import ServiceError, abort, make_error

_LOG = logging.getLogger(__name__)

S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Ctx = TypeVar("Ctx", bound=Context)


def internal_error(exc: BaseException) -> ServiceError:
    """INTERNAL for an exception no servicer expected; the message names only its type."""
    return make_error(code_pb2.INTERNAL, f"Internal error ({type(exc).__name__})")


async def fail(context: Context, exc: Exception) -> NoReturn:
    """End the call for `exc`: its own status for a ServiceError, INTERNAL otherwise."""
    if isinstance(exc, ServiceError):
        await abort(context, exc)
    _LOG.exception("unexpected error in servicer", exc_info=exc)
    await abort(context, internal_error(exc))


def _is_abort(exc: Exception) -> bool:
    # context.abort(...) ends the call by raising; that exception must pass through.
    return isinstance(exc, grpc.aio.AbortError)


def unary(
    method: Callable[[S, Req, Ctx], Awaitable[Resp]],
) -> Callable[[S, Req, Ctx], Awaitable[Resp]]:
    """Wrap a method that returns one response."""

    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Ctx) -> Resp:
        try:
            return await method(self, request, context)
        except Exception as exc:
            if _is_abort(exc):
                raise
            await fail(context, exc)
            raise  # unreachable: fail() always raises

    return wrapper


def stream(
    method: Callable[[S, Req, Ctx], AsyncIterator[Resp]],
) -> Callable[[S, Req, Ctx], AsyncIterator[Resp]]:
    """Wrap a method that yields responses (an async generator)."""

    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Ctx) -> AsyncIterator[Resp]:
        try:
            async for item in method(self, request, context):
                yield item
        except Exception as exc:
            if _is_abort(exc):
                raise
            await fail(context, exc)
            raise

    return wrapper
