"""Code that runs around every call: policies, and the one interceptor that applies them.

A `Policy` turns a method handler into one that does something more: authenticate the caller,
map exceptions to rich statuses, reject undecodable requests, record the call in a journal,
play a scripted fault. `PolicyInterceptor` applies a list of them, outermost first.

The wrapping happens once per method, not once per call: the interceptor keeps the wrapped
handler and hands it out again as long as the server returns the same handler for that method
(it always does for registered services). What a policy does per call runs inside the wrapped
behaviour, where the request and the context are at hand. So a call pays for one interceptor
hop and a dictionary lookup, the same as a pass-through interceptor, plus the policies' own work.

Given `routes` (textgen.server.rpc.routing), the interceptor serves a call that came by an
upstream flavour's path as our own method: policies are given our method's path, and the call
runs with its route as the current one. A path the server does not offer (one it answers
UNIMPLEMENTED) is wrapped for each call and not kept, so inventing paths cannot grow the
interceptor's memory.

`with_behaviour` is the shared helper that builds such a handler for any of the four call
kinds. A policy gives two wrappers: one for methods with a single response (unary-unary and
stream-unary) and one for methods with streamed responses (unary-stream and stream-stream). The
first argument of a behaviour is the request, or the request iterator for client streaming;
the wrappers pass it on untouched unless they mean to inspect it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast

import grpc

from textgen.server.rpc.aio_types import Context, Continuation, Handler

if TYPE_CHECKING:
    from textgen.server.rpc.routing import Routes

Single: TypeAlias = Callable[[Any, Context], Awaitable[Any]]
Streaming: TypeAlias = Callable[[Any, Context], AsyncIterator[Any]]
Deserializer: TypeAlias = Callable[[bytes], Any]


class Policy(Protocol):
    """Wraps a method's handler; called once per method (see the module docstring)."""

    def wrap(self, method: str, handler: Handler) -> Handler:
        """The handler to serve `method` with, usually built with `with_behaviour`."""
        ...


class _Replaceable(Protocol):
    # grpc builds method handlers as named tuples; the stubs declare only the attributes.
    def _replace(self, **changes: object) -> Handler: ...


def behaviour_kind(handler: Handler) -> str:
    """The handler attribute that holds its behaviour: "unary_unary", "stream_unary"..."""
    request = "stream" if handler.request_streaming else "unary"
    response = "stream" if handler.response_streaming else "unary"
    return f"{request}_{response}"


def with_behaviour(
    handler: Handler,
    *,
    single: Callable[[Single], Single] | None = None,
    streaming: Callable[[Streaming], Streaming] | None = None,
    request_deserializer: Deserializer | None = None,
) -> Handler:
    """A copy of `handler` whose behaviour is wrapped by `single` or `streaming` (by its kind),
    and whose request deserializer is replaced when one is given."""
    kind = behaviour_kind(handler)
    changes: dict[str, object] = {}
    # On a grpc.aio server the behaviours are coroutine functions and async generators.
    behaviour = getattr(handler, kind)
    if handler.response_streaming and streaming is not None:
        changes[kind] = streaming(cast("Streaming", behaviour))
    elif not handler.response_streaming and single is not None:
        changes[kind] = single(cast("Single", behaviour))
    if request_deserializer is not None:
        changes["request_deserializer"] = request_deserializer
    if not changes:
        return handler
    return cast("_Replaceable", handler)._replace(**changes)


class PolicyInterceptor(grpc.aio.ServerInterceptor):
    """Applies `policies` (outermost first) to every method, wrapping each method once."""

    def __init__(self, policies: Sequence[Policy], routes: Routes | None = None) -> None:
        self._policies = tuple(reversed(policies))
        self._routes = routes
        # method -> (the handler the server gave, the wrapped handler)
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    @property
    def cached(self) -> int:
        """How many methods' wrapped handlers are kept (at most one per method served)."""
        return len(self._wrapped)

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        """The method's wrapped handler (None for a method the server does not serve)."""
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        route = None if self._routes is None else self._routes.route(method)
        name = method if route is None else route.method
        wrapped = handler
        for policy in self._policies:
            wrapped = policy.wrap(name, wrapped)
        if route is not None:
            wrapped = route.wrap(wrapped)
        if route is None or route.offered:
            self._wrapped[method] = (handler, wrapped)
        return wrapped
