"""The two shells that run plans from `textgen._calls`: one blocking, one for asyncio.

Each performs the same six effects in its own way (threads or asyncio.gather, time.sleep or
asyncio.sleep, blocking or asyncio client streams); everything else -- retries, paging,
function calling, operation waiting -- is written once, as data or as a program, and only
driven from here.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from textgen import _routes, _transport, errors
from textgen._calls import (
    Attempt,
    Call,
    CallOptions,
    Done,
    Driver,
    Effect,
    Gather,
    Method,
    Plan,
    Sleep,
    Streamed,
    Upload,
    budget,
    retrying,
)
from textgen.retry import RetryPolicy

R = TypeVar("R")
T = TypeVar("T")
C = TypeVar("C")  # a channel
IC = TypeVar("IC")  # an interceptor of that channel
MAX_THREADS = 8


class _Runner(Generic[C, IC]):
    """What both shells share: the channel pool, the call options and the API flavour."""

    def __init__(
        self,
        pool: _transport.ChannelPool[C, IC],
        options: CallOptions,
        routing: _routes.Routing | None = None,
    ) -> None:
        self.pool = pool
        self.options = options
        self.target = pool.endpoint.target  # the address the channel connects to
        # Which path each method takes and what metadata goes with it (textgen.v1 by default).
        self.routing = routing if routing is not None else _routes.routing("textgen")

    def _prepare(
        self, method: Method[Any, Any], request: Message | None
    ) -> tuple[Method[Any, Any], _routes.Metadata]:
        # The flavour's method and metadata; UnsupportedByApi before any network call.
        return self.routing.prepare(method, request, self.options.metadata)

    def _channel(self) -> C:
        return self.pool.get(self.options.retry)


class SyncRunner(_Runner[grpc.Channel, _transport.SyncInterceptor]):
    """Runs plans with blocking gRPC calls; Gather fans out on a thread pool."""

    def with_options(self, *, timeout: float | None, retry: RetryPolicy | None) -> SyncRunner:
        """A runner on the same pool with other call options."""
        options = self.options.replace(timeout=timeout, retry=retry)
        return SyncRunner(self.pool, options, self.routing)

    def run(self, plan: Plan[R]) -> R:
        """Drive a plan to its result."""
        if isinstance(plan, Call):
            return self._call(plan)
        driver = Driver(plan)
        step = driver.start()
        while not isinstance(step, Done):
            try:
                value = self._perform(step)
            except Exception as error:
                step = driver.throw(error)
            else:
                step = driver.send(value)
        return step.value

    def _call(self, c: Call[R]) -> R:
        # The first attempt directly; the retry program decides what follows a failure.
        deadline = time.monotonic() + budget(c, self.options)
        try:
            response = self._unary(c, deadline - time.monotonic())
        except errors.APIError as error:
            failure = error
        else:
            return c.parse(response)
        return self.run(
            retrying(
                c,
                self.options,
                failure=failure,
                deadline=deadline,
                resendable=self.routing.resendable(c.method),
            )
        )

    def _unary(self, c: Call[Any], timeout: float) -> object:
        method, metadata = self._prepare(c.method, c.request)
        return _transport.unary(
            self._channel(),
            method,
            c.request,
            timeout=timeout,
            metadata=metadata,
            target=self.target,
        )

    def stream(self, plan: Streamed[T]) -> Iterator[T]:
        """Iterate a server stream, parsing each message."""
        method, metadata = self._prepare(plan.method, plan.request)
        for message in _transport.stream(
            self._channel(),
            method,
            plan.request,
            timeout=self.options.timeout,
            metadata=metadata,
            target=self.target,
        ):
            yield from plan.items(message)

    def _perform(self, effect: Effect) -> object:
        if isinstance(effect, Call):
            return self.run(effect)
        if isinstance(effect, Upload):
            method, metadata = self._prepare(effect.method, None)
            response = _transport.upload(
                self._channel(),
                method,
                effect.requests,
                timeout=self.options.timeout if effect.timeout is None else effect.timeout,
                metadata=metadata,
                target=self.target,
            )
            return effect.parse(response)
        if isinstance(effect, Attempt):
            return effect.call.parse(self._unary(effect.call, effect.timeout))
        if isinstance(effect, Gather):
            if len(effect.calls) <= 1:
                return [self.run(c) for c in effect.calls]
            with ThreadPoolExecutor(min(MAX_THREADS, len(effect.calls))) as pool:
                return list(pool.map(self.run, effect.calls))
        if isinstance(effect, Sleep):
            time.sleep(max(effect.seconds, 0.0))
            return None
        result = effect.function(*effect.args, **effect.kwargs)
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise errors.UsageError(f"{effect.function!r} is async; call it through AsyncClient")
        return result


class AsyncRunner(_Runner[grpc.aio.Channel, _transport.AsyncInterceptor]):
    """Runs plans with grpc.aio; Gather fans out with asyncio.gather."""

    def with_options(self, *, timeout: float | None, retry: RetryPolicy | None) -> AsyncRunner:
        """A runner on the same pool with other call options."""
        options = self.options.replace(timeout=timeout, retry=retry)
        return AsyncRunner(self.pool, options, self.routing)

    async def run(self, plan: Plan[R]) -> R:
        """Drive a plan to its result."""
        if isinstance(plan, Call):
            return await self._call(plan)
        driver = Driver(plan)
        step = driver.start()
        while not isinstance(step, Done):
            try:
                value = await self._perform(step)
            except Exception as error:
                step = driver.throw(error)
            else:
                step = driver.send(value)
        return step.value

    async def _call(self, c: Call[R]) -> R:
        # The first attempt directly; the retry program decides what follows a failure.
        deadline = time.monotonic() + budget(c, self.options)
        try:
            response = await self._unary(c, deadline - time.monotonic())
        except errors.APIError as error:
            failure = error
        else:
            return c.parse(response)
        return await self.run(
            retrying(
                c,
                self.options,
                failure=failure,
                deadline=deadline,
                resendable=self.routing.resendable(c.method),
            )
        )

    async def _unary(self, c: Call[Any], timeout: float) -> object:
        method, metadata = self._prepare(c.method, c.request)
        return await _transport.aio_unary(
            self._channel(),
            method,
            c.request,
            timeout=timeout,
            metadata=metadata,
            target=self.target,
        )

    async def stream(self, plan: Streamed[T]) -> AsyncIterator[T]:
        """Iterate a server stream, parsing each message."""
        method, metadata = self._prepare(plan.method, plan.request)
        async for message in _transport.aio_stream(
            self._channel(),
            method,
            plan.request,
            timeout=self.options.timeout,
            metadata=metadata,
            target=self.target,
        ):
            for item in plan.items(message):
                yield item

    async def _perform(self, effect: Effect) -> object:
        if isinstance(effect, Call):
            return await self.run(effect)
        if isinstance(effect, Upload):
            method, metadata = self._prepare(effect.method, None)
            response = await _transport.aio_upload(
                self._channel(),
                method,
                effect.requests,
                timeout=self.options.timeout if effect.timeout is None else effect.timeout,
                metadata=metadata,
                target=self.target,
            )
            return effect.parse(response)
        if isinstance(effect, Attempt):
            return effect.call.parse(await self._unary(effect.call, effect.timeout))
        if isinstance(effect, Gather):
            return list(await asyncio.gather(*(self.run(c) for c in effect.calls)))
        if isinstance(effect, Sleep):
            await asyncio.sleep(max(effect.seconds, 0.0))
            return None
        result = effect.function(*effect.args, **effect.kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result
