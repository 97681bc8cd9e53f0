"""Policies: with_behaviour wraps each call kind and keeps the rest of the handler, and the
PolicyInterceptor wraps a method once, outermost policy first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple, cast

import grpc
import pytest

from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.policy import (
    PolicyInterceptor,
    Single,
    Streaming,
    behaviour_kind,
    with_behaviour,
)

CONTEXT = cast("Context", None)  # the behaviours below never read it


async def echo(request: Any, context: Context) -> Any:
    return request


async def echo_each(request: Any, context: Context) -> AsyncIterator[Any]:
    yield request
    yield request


def handlers() -> dict[str, Handler]:
    """One handler of each call kind, each behaviour answering with its request."""
    return {
        "unary_unary": grpc.unary_unary_rpc_method_handler(echo),
        "unary_stream": grpc.unary_stream_rpc_method_handler(echo_each),
        "stream_unary": grpc.stream_unary_rpc_method_handler(echo),
        "stream_stream": grpc.stream_stream_rpc_method_handler(echo_each),
    }


def tagging(tag: str) -> tuple[Any, Any]:
    """Wrappers that add `tag` to each answer: (single, streaming)."""

    def single(behaviour: Single) -> Single:
        async def tagged(request: Any, context: Context) -> Any:
            return f"{await behaviour(request, context)}{tag}"

        return tagged

    def streaming(behaviour: Streaming) -> Streaming:
        async def tagged(request: Any, context: Context) -> AsyncIterator[Any]:
            async for answer in behaviour(request, context):
                yield f"{answer}{tag}"

        return tagged

    return single, streaming


async def answers(handler: Handler, request: str) -> list[Any]:
    behaviour = getattr(handler, behaviour_kind(handler))
    if handler.response_streaming:
        return [answer async for answer in behaviour(request, CONTEXT)]
    return [await behaviour(request, CONTEXT)]


@pytest.mark.parametrize("kind", list(handlers()))
async def test_each_call_kind_is_wrapped_by_its_wrapper(kind: str) -> None:
    handler = handlers()[kind]
    single, streaming = tagging("!")
    wrapped = with_behaviour(handler, single=single, streaming=streaming)
    assert behaviour_kind(wrapped) == kind
    expected = ["hi!", "hi!"] if handler.response_streaming else ["hi!"]
    assert await answers(wrapped, "hi") == expected


def test_without_changes_the_handler_is_kept() -> None:
    handler = handlers()["unary_unary"]
    _, streaming = tagging("!")
    assert with_behaviour(handler, streaming=streaming) is handler


def test_the_request_deserializer_can_be_replaced() -> None:
    def decode(data: bytes) -> Any:
        return data.decode()

    wrapped = with_behaviour(handlers()["unary_unary"], request_deserializer=decode)
    assert wrapped.request_deserializer is decode
    assert cast("object", wrapped.unary_unary) is echo


class Tagger:
    """A policy that counts how often it wraps a handler."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.wrapped = 0

    def wrap(self, method: str, handler: Handler) -> Handler:
        self.wrapped += 1
        single, streaming = tagging(self.tag)
        return with_behaviour(handler, single=single, streaming=streaming)


class Details(NamedTuple):
    """What the interceptor reads of a call (grpc's own class is abstract)."""

    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


def details(method: str) -> grpc.HandlerCallDetails:
    return cast("grpc.HandlerCallDetails", Details(method))


async def test_a_method_is_wrapped_once_outermost_policy_first() -> None:
    outer, inner = Tagger("<outer"), Tagger("<inner")
    interceptor = PolicyInterceptor([outer, inner])
    handler = handlers()["unary_unary"]

    async def continuation(_: grpc.HandlerCallDetails) -> Handler:
        return handler

    first = await interceptor.intercept_service(continuation, details("/s/M"))
    again = await interceptor.intercept_service(continuation, details("/s/M"))
    assert first is again
    assert (outer.wrapped, inner.wrapped) == (1, 1)
    # The outer policy sees the inner one's answer: it runs around it.
    assert first is not None and await answers(first, "hi") == ["hi<inner<outer"]


async def test_a_new_handler_for_the_method_is_wrapped_again() -> None:
    policy = Tagger("!")
    interceptor = PolicyInterceptor([policy])
    served = iter([handlers()["unary_unary"], handlers()["unary_unary"]])

    async def continuation(_: grpc.HandlerCallDetails) -> Handler:
        return next(served)

    await interceptor.intercept_service(continuation, details("/s/M"))
    await interceptor.intercept_service(continuation, details("/s/M"))
    assert policy.wrapped == 2


async def test_a_method_the_server_does_not_serve_is_left_alone() -> None:
    policy = Tagger("!")

    async def continuation(_: grpc.HandlerCallDetails) -> Handler | None:
        return None

    found = await PolicyInterceptor([policy]).intercept_service(continuation, details("/s/X"))
    assert found is None and policy.wrapped == 0
