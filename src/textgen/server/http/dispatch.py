"""Finding and running a method's handler for an HTTP call, as the gRPC server would.

`Registrations` stands beside the grpc.aio server while app.serve registers its services: it
passes every registration on to the server and keeps the generic handlers. `Dispatcher` then
looks a method path up in those handlers through the server's interceptors, in the server's
order, so an HTTP call gets the handler a gRPC call of that path gets, with every shared
policy already wrapped around it (error mapping, authentication, the request checks, a
FakeServer's journal and faults). Running it needs only a context (textgen.server.http.context)
and the decoded request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, cast

import grpc
import grpc.aio

from textgen.server.rpc.aio_types import Context, Continuation, Handler
from textgen.server.rpc.policy import behaviour_kind


class Registrations:
    """Forwards service registrations to `server` and keeps the generic handlers, in order."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self.server = server
        self.handlers: list[grpc.GenericRpcHandler] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        """Register `handlers` with the server, and keep them."""
        self.handlers.extend(handlers)
        self.server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: Any) -> None:  # noqa: ANN401
        """Register `handlers` with the server (the generic handler kept serves the same)."""
        add = getattr(self.server, "add_registered_method_handlers", None)
        if add is not None:
            add(service, handlers)

    def as_server(self) -> grpc.aio.Server:
        """This object where generated `add_*_to_server` functions want a server."""
        return cast("grpc.aio.Server", self)


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str, metadata: Sequence[tuple[str, str]]) -> None:
        self.method = method
        self.invocation_metadata = tuple(metadata)


class Dispatcher:
    """Method path -> its handler, through `interceptors` (outermost first)."""

    def __init__(
        self,
        handlers: Sequence[grpc.GenericRpcHandler],
        interceptors: Sequence[grpc.aio.ServerInterceptor],
    ) -> None:
        self._handlers = handlers

        async def lookup(details: grpc.HandlerCallDetails) -> Handler | None:
            for generic in self._handlers:
                found = generic.service(details)
                if found is not None:
                    return found
            return None

        continuation: Continuation = lookup
        for interceptor in reversed(interceptors):
            continuation = _chained(interceptor, continuation)
        self._continuation = continuation

    async def handler(self, path: str, metadata: Sequence[tuple[str, str]]) -> Handler | None:
        """The wrapped handler for `path`, or None when the server does not serve it."""
        return await self._continuation(_Details(path, metadata))


def _chained(
    interceptor: grpc.aio.ServerInterceptor, inner: Continuation
) -> Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]:
    async def intercepted(details: grpc.HandlerCallDetails) -> Handler | None:
        found: Handler | None = await interceptor.intercept_service(inner, details)
        return found

    return intercepted


async def _one(request: object) -> AsyncIterator[object]:
    yield request


def _argument(handler: Handler, request: object) -> object:
    # A client-streaming method given one request over HTTP sees a stream of one.
    return _one(request) if handler.request_streaming else request


async def call_single(handler: Handler, request: object, context: Context) -> Any:  # noqa: ANN401
    """Run a method with a single response and return it."""
    behaviour = getattr(handler, behaviour_kind(handler))
    return await behaviour(_argument(handler, request), context)


def call_streaming(handler: Handler, request: object, context: Context) -> AsyncIterator[Any]:
    """Run a method with streamed responses; its responses, as they come."""
    behaviour = getattr(handler, behaviour_kind(handler))
    responses: AsyncIterator[Any] = behaviour(_argument(handler, request), context)
    return responses
