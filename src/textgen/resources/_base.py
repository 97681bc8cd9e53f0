"""Binding plan-building functions to resource classes, once for each shell.

A resource method is written once, as a function from arguments to a plan (see
`textgen._calls`). A resource class then lists one line per method, for example
`get = sync_call(specs.get)` in the blocking class and `get = async_call(specs.get)` in the
asyncio one; the binders keep the function's signature and docstring for type checkers,
IDEs and help().
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, ParamSpec, TypeVar, overload

from google.protobuf.message import Message

from textgen._calls import LongRunning, Paged, Plan, Streamed, single
from textgen._shells import AsyncRunner, SyncRunner
from textgen.operation import AsyncOperation, Operation
from textgen.pagers import AsyncPager, Pager

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
X = TypeVar("X")
S = TypeVar("S", SyncRunner, AsyncRunner)
Out = TypeVar("Out")
MT = TypeVar("MT", bound=Message)
ResponseT = TypeVar("ResponseT", bound=Message)


class Resource(Generic[S]):
    """A group of methods sharing the client's runner."""

    def __init__(self, runner: S) -> None:
        self._runner: S = runner


class Bound(Generic[S, P, Out]):
    """A descriptor: `resource.method(*args)` is `adapt(runner, spec(*args))`."""

    def __init__(self, spec: Callable[P, Any], adapt: Callable[[S, Any], Out]) -> None:
        self._spec = spec
        self._adapt: Callable[[S, Any], Out] = adapt
        self._name = spec.__name__
        self.__doc__ = spec.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Bound[S, P, Out]: ...
    @overload
    def __get__(self, obj: Resource[S], owner: type) -> Callable[P, Out]: ...
    def __get__(self, obj: Resource[S] | None, owner: type) -> Bound[S, P, Out] | Callable[P, Out]:
        if obj is None:
            return self
        runner = obj._runner
        spec, adapt = self._spec, self._adapt

        @functools.wraps(spec)
        def bound(*args: P.args, **kwargs: P.kwargs) -> Out:
            return adapt(runner, spec(*args, **kwargs))

        # Bound once per resource: the instance attribute now shadows this descriptor.
        vars(obj)[self._name] = bound
        return bound


def _bind(spec: Callable[P, X], adapt: Callable[[S, X], Out]) -> Bound[S, P, Out]:
    return Bound(spec, adapt)


# Blocking binders.


def sync_call(spec: Callable[P, Plan[R]]) -> Bound[SyncRunner, P, R]:
    """A method that runs a Call or program and returns its result."""
    return _bind(spec, lambda runner, plan: runner.run(plan))


def sync_paged(spec: Callable[P, Paged[T]]) -> Bound[SyncRunner, P, Pager[T]]:
    """A method that returns a Pager over every item."""
    return _bind(spec, Pager)


def sync_stream(spec: Callable[P, Streamed[T]]) -> Bound[SyncRunner, P, Iterator[T]]:
    """A method that returns an iterator over a server stream."""
    return _bind(spec, lambda runner, plan: runner.stream(plan))


def sync_operation(
    spec: Callable[P, LongRunning[ResponseT, MT]],
) -> Bound[SyncRunner, P, Operation[ResponseT, MT]]:
    """A method that starts (or finds) a long-running operation and returns its handle."""

    def adapt(runner: SyncRunner, plan: LongRunning[ResponseT, MT]) -> Operation[ResponseT, MT]:
        proto = runner.run(single(plan.start))
        return Operation(runner, proto, plan.response_type, plan.metadata_type, plan.describe)

    return _bind(spec, adapt)


class AsyncStream(AsyncIterator[T]):
    """A server stream for `async for`; it may also be awaited first, which gives it back,
    so google-genai's `async for chunk in await client.aio.models...stream(...)` works."""

    def __init__(self, items: AsyncIterator[T]) -> None:
        self._items = items

    async def __anext__(self) -> T:
        return await self._items.__anext__()

    def __await__(self) -> Generator[Any, None, AsyncStream[T]]:
        return self._itself().__await__()

    async def _itself(self) -> AsyncStream[T]:
        return self

    async def aclose(self) -> None:
        """Stop reading: cancels the call if it is still running."""
        if isinstance(self._items, AsyncGenerator):
            await self._items.aclose()


# Asyncio binders: pagers and streams are returned directly, for `async for` without await.


def async_call(spec: Callable[P, Plan[R]]) -> Bound[AsyncRunner, P, Awaitable[R]]:
    """A coroutine method that runs a Call or program and returns its result."""
    return _bind(spec, lambda runner, plan: runner.run(plan))


def async_paged(spec: Callable[P, Paged[T]]) -> Bound[AsyncRunner, P, AsyncPager[T]]:
    """A method that returns an AsyncPager over every item (no await needed)."""
    return _bind(spec, AsyncPager)


def async_stream(spec: Callable[P, Streamed[T]]) -> Bound[AsyncRunner, P, AsyncStream[T]]:
    """A method that returns an async iterator over a server stream (no await needed)."""
    return _bind(spec, lambda runner, plan: AsyncStream(runner.stream(plan)))


def async_operation(
    spec: Callable[P, LongRunning[ResponseT, MT]],
) -> Bound[AsyncRunner, P, Awaitable[AsyncOperation[ResponseT, MT]]]:
    """A coroutine method that starts (or finds) a long-running operation."""

    async def adapt(
        runner: AsyncRunner, plan: LongRunning[ResponseT, MT]
    ) -> AsyncOperation[ResponseT, MT]:
        proto = await runner.run(single(plan.start))
        return AsyncOperation(runner, proto, plan.response_type, plan.metadata_type, plan.describe)

    return _bind(spec, adapt)
