"""RPC methods as the FakeServer's interceptors see them: full names, and handler rewrapping.

`full_name("GenerateText")` answers "/textgen.v1.ModelService/GenerateText"; "ModelService/
GenerateText" and full names work too, and a name starting with "/" that the contract does not
know (such as "/grpc.health.v1.Health/Check") is taken as it is.

`rewrap(handler, before=..., on_request=...)` returns a copy of a grpc method handler whose
behaviour first awaits `before(context)` (which may end the call, or answer it with a canned
response) and which reports every request message as it is parsed, whatever the call's kind.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol, cast

from google.longrunning import operations_proto_pb2

from textgen import contract
from textgen.server.rpc.aio_types import Context, Handler

# What `before` hands back: None lets the servicer answer; anything else is the response
# (for a server-streaming method, an iterable of responses).
Before = Callable[[Context], Awaitable[object | None]]
OnRequest = Callable[[object], None]


class _NamedTupleHandler(Protocol):
    # grpc builds its handlers as named tuples; the stubs declare only the attributes.
    def _replace(self, **changes: object) -> Handler: ...


@functools.cache
def _index() -> dict[str, str | None]:
    services = [*contract.services()]
    services.append(operations_proto_pb2.DESCRIPTOR.services_by_name["Operations"])
    index: dict[str, str | None] = {}
    for service in services:
        for method in service.methods:
            full = f"/{service.full_name}/{method.name}"
            for alias in (full, full[1:], f"{service.name}/{method.name}"):
                index[alias] = full
            # A short name two services share is ambiguous: None marks it.
            index[method.name] = None if method.name in index else full
    return index


def full_name(method: str) -> str:
    """The full method name ("/package.Service/Method") for a short or full one."""
    found = _index().get(method, "")
    if found:
        return found
    if found is None:
        raise ValueError(f"method name {method!r} is ambiguous: use 'Service/{method}'")
    if method.startswith("/"):
        return method
    raise ValueError(f"unknown method {method!r}: use a contract method or a '/full/Name'")


def rewrap(
    handler: Handler | None, *, before: Before | None = None, on_request: OnRequest | None = None
) -> Handler | None:
    """A copy of `handler` that runs `before` first and reports each parsed request."""
    if handler is None:
        return None
    changes: dict[str, Any] = {}
    if on_request is not None:
        changes["request_deserializer"] = _recording(handler.request_deserializer, on_request)
    if before is not None:
        kind = _kind(handler)
        wrap = _streaming if handler.response_streaming else _single
        changes[kind] = wrap(getattr(handler, kind), before)
    return cast("_NamedTupleHandler", handler)._replace(**changes)


def _kind(handler: Handler) -> str:
    request = "stream" if handler.request_streaming else "unary"
    response = "stream" if handler.response_streaming else "unary"
    return f"{request}_{response}"


def _recording(
    deserializer: Callable[[bytes], object] | None, on_request: OnRequest
) -> Callable[[bytes], object]:
    def deserialize(data: bytes) -> object:
        message = data if deserializer is None else deserializer(data)
        on_request(message)
        return message

    return deserialize


def _single(behavior: Callable[..., Any], before: Before) -> Callable[..., Awaitable[object]]:
    async def wrapper(request: object, context: Context) -> object:
        canned = await before(context)
        if canned is not None:
            return canned
        result = behavior(request, context)
        return await result if inspect.isawaitable(result) else result

    return wrapper


def _streaming(
    behavior: Callable[..., Any], before: Before
) -> Callable[..., AsyncIterator[object]]:
    async def wrapper(request: object, context: Context) -> AsyncIterator[object]:
        canned = await before(context)
        if canned is not None:
            for item in _as_iterable(canned):
                yield item
            return
        result = behavior(request, context)
        if hasattr(result, "__aiter__"):
            async for item in result:
                yield item
        elif inspect.isawaitable(result):  # a handler that writes with context.write()
            await result
        else:
            for item in result:
                yield item

    return wrapper


def _as_iterable(canned: object) -> Iterable[object]:
    if isinstance(canned, (list, tuple)):
        return canned
    return (canned,)
