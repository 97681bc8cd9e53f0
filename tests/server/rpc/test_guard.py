"""Guards: enter, check and failure run around the behaviour, and guards stacked on one
handler run in one layer, in the order separate layers would run them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc
import pytest

from tests.server.rpc.test_policy import answers, handlers
from textgen.server.rpc import guard
from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.guard import with_guard
from textgen.server.rpc.policy import behaviour_kind


async def single_requests(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item


def beneath(handler: Handler) -> Handler:
    """The handler a guarded handler's one layer wraps."""
    stack: Any = getattr(getattr(handler, behaviour_kind(handler)), guard._STACK)
    return stack.beneath  # type: ignore[no-any-return]


def checker(seen: list[Any], name: str, refused: str) -> Any:
    def check(request: Any, position: int | None) -> None:
        seen.append((name, request, position))
        if request == refused:
            raise ValueError(f"{name} refuses {request}")

    return check


def entering(seen: list[Any], name: str) -> Any:
    def enter(context: Context) -> None:
        seen.append((name, "enter"))

    return enter


class Mapped(Exception):
    """What the failure below turns an exception into."""


async def mapping(context: Context, exc: Exception) -> NoReturn:
    raise Mapped(str(exc)) from exc


async def collect(requests: AsyncIterator[Any], context: Context) -> Any:
    return [request async for request in requests]


async def collect_each(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
    yield [request async for request in requests]


def reading(handler: Handler) -> Handler:
    """`handler`, a client-streaming one reading its requests itself (as a servicer does)."""
    if not handler.request_streaming:
        return handler
    behaviour = collect_each if handler.response_streaming else collect
    return handler._replace(**{behaviour_kind(handler): behaviour})  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("kind", list(handlers()))
async def test_guards_stack_in_one_layer_outer_first(kind: str) -> None:
    handler = reading(handlers()[kind])
    seen: list[Any] = []

    def inner_decode(data: bytes) -> Any:
        return data.decode()

    def outer_decode(data: bytes) -> Any:
        return inner_decode(data).upper()

    inner = with_guard(
        handler, request_deserializer=inner_decode, check=checker(seen, "inner", "BAD-INNER")
    )
    middle = with_guard(inner, enter=entering(seen, "middle"))
    outer = with_guard(
        middle, request_deserializer=outer_decode, check=checker(seen, "outer", "BAD-OUTER")
    )
    mapped = with_guard(outer, failure=mapping)
    assert mapped.request_deserializer is outer_decode
    # One layer over the original handler, however many guards.
    for made in (inner, middle, outer, mapped):
        assert beneath(made) is handler
    streamed = handler.request_streaming
    request: Any = single_requests("OK", "FINE") if streamed else "OK"
    found = await answers(mapped, request)
    if streamed:
        assert found[0] == ["OK", "FINE"]
        # Enters when the call starts, then each message's checks as it is read.
        assert seen == [
            ("middle", "enter"),
            ("outer", "OK", 0),
            ("inner", "OK", 0),
            ("outer", "FINE", 1),
            ("inner", "FINE", 1),
        ]
    else:
        assert found[0] == "OK"
        assert seen == [("outer", "OK", None), ("middle", "enter"), ("inner", "OK", None)]
    for refused in ("BAD-OUTER", "BAD-INNER"):
        seen.clear()
        request = single_requests(refused) if streamed else refused
        # The failure maps what a check raises.
        with pytest.raises(Mapped, match=refused):
            await answers(mapped, request)
        checks = [entry for entry in seen if entry[1] != "enter"]
        # The outer check runs first, so an outer refusal never reaches the inner check.
        assert checks[0][0] == "outer"
        assert len(checks) == (1 if refused == "BAD-OUTER" else 2)


@pytest.mark.parametrize("kind", list(handlers()))
async def test_a_failure_maps_what_the_behaviour_raises_but_not_an_abort(kind: str) -> None:
    handler = handlers()[kind]

    async def broken(request: Any, context: Context) -> Any:
        raise RuntimeError("broken")

    async def broken_each(request: Any, context: Context) -> AsyncIterator[Any]:
        yield "first"
        raise RuntimeError("broken")

    async def aborted(request: Any, context: Context) -> Any:
        raise grpc.aio.AbortError("ended")

    failing = handler._replace(**{kind: broken_each if handler.response_streaming else broken})  # type: ignore[attr-defined]
    with pytest.raises(Mapped, match="broken"):
        await answers(with_guard(failing, failure=mapping), "hi")
    ending = handler._replace(**{kind: aborted})  # type: ignore[attr-defined]
    if not handler.response_streaming:
        with pytest.raises(grpc.aio.AbortError):
            await answers(with_guard(ending, failure=mapping), "hi")
    # Without a failure, the exception passes as it is.
    with pytest.raises(RuntimeError, match="broken"):
        await answers(with_guard(failing, enter=lambda context: None), "hi")


async def test_steps_outside_a_failure_stay_outside_it() -> None:
    seen: list[Any] = []
    mapped = with_guard(handlers()["unary_unary"], failure=mapping)
    # A check stacked over a failure is a layer of its own: its refusal is not mapped.
    outer = with_guard(mapped, check=checker(seen, "outer", "BAD"))
    assert beneath(outer) is mapped
    with pytest.raises(ValueError, match="outer refuses BAD"):
        await answers(outer, "BAD")
    # A second failure is a layer too; the inner one maps first.
    outer_saw: list[str] = []

    async def noting(context: Context, exc: Exception) -> NoReturn:
        outer_saw.append(type(exc).__name__)
        raise exc

    async def broken(request: Any, context: Context) -> Any:
        raise RuntimeError("broken")

    inner = with_guard(handlers()["unary_unary"]._replace(unary_unary=broken), failure=mapping)  # type: ignore[attr-defined]
    twice = with_guard(inner, failure=noting)
    assert beneath(twice) is inner
    with pytest.raises(Mapped, match="broken"):
        await answers(twice, "hi")
    assert outer_saw == ["Mapped"]
    # A guard that only changes the deserializer merges.

    def decode(data: bytes) -> Any:
        return data

    replaced = with_guard(mapped, request_deserializer=decode)
    assert replaced.request_deserializer is decode
    assert beneath(replaced) is beneath(mapped)
    assert await answers(replaced, "hi") == ["hi"]
