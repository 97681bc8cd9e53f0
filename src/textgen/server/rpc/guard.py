"""Guards: the policies' per-call work that runs before the servicer, stacked into one layer.

Most of what the server's policies do to a call happens before the servicer sees it, in
plain functions: note who calls (`enter(context)`, once per call), refuse a request
(`check(request, position)`, for each request), and, around all of it, send an exception as
its status (`failure(context, exc)`). `with_guard` builds a handler that does those around the
handler it is given. Given a handler that `with_guard` made, it does not add a layer: the new
copy wraps the handler beneath once and runs both guards' steps, the new (outer) guard's
first, as the two layers would have. So the error mapping, authentication, the
undecodable-request check and the unknown-field check cost one coroutine a call together (one
async generator a message for streamed answers), not four.

A guard's steps run in the order the layers would run them. For a single request, that is
outer to inner, each guard's `enter` before its `check`. For a client stream, every `enter`
runs when the call starts, and the checks run on each message as the servicer reads it
(`position` counts from 0); a refusal then comes when the servicer reads the message refused.
A `failure` maps what the steps and the behaviour raise, except grpc's AbortError (a call
already ended), which passes. A guard with steps is not merged onto one with a `failure`:
the steps would otherwise run inside a mapping they were outside of; such guards stack as
separate layers, as do two failures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple, NoReturn, TypeAlias

import grpc

from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.policy import (
    Deserializer,
    Single,
    Streaming,
    behaviour_kind,
    with_behaviour,
)

Enter: TypeAlias = Callable[[Context], None]
RequestCheck: TypeAlias = Callable[[Any, "int | None"], None]
Failure: TypeAlias = Callable[[Context, Exception], Awaitable[NoReturn]]


class Step(NamedTuple):
    """One guard's work before the servicer: either part may be absent."""

    enter: Enter | None
    check: RequestCheck | None


class _Stack(NamedTuple):
    # What a behaviour made by with_guard guards: the handler beneath, the steps in order
    # (outermost guard's first) and the failure that maps exceptions, if any.
    beneath: Handler
    steps: tuple[Step, ...]
    failure: Failure | None


# The attribute of a behaviour made by with_guard that holds its _Stack.
_STACK = "_textgen_guard"


def with_guard(
    handler: Handler,
    *,
    request_deserializer: Deserializer | None = None,
    enter: Enter | None = None,
    check: RequestCheck | None = None,
    failure: Failure | None = None,
) -> Handler:
    """A copy of `handler` that runs `enter` and `check` before its behaviour and maps what
    is raised with `failure` (see the module docstring), and decodes requests with
    `request_deserializer` when one is given."""
    steps = (Step(enter, check),) if enter is not None or check is not None else ()
    stack: _Stack | None = getattr(getattr(handler, behaviour_kind(handler)), _STACK, None)
    if stack is not None and (stack.failure is None or (not steps and failure is None)):
        merged = _Stack(stack.beneath, steps + stack.steps, failure or stack.failure)
        return _guarded(merged, request_deserializer or handler.request_deserializer)
    return _guarded(_Stack(handler, steps, failure), request_deserializer)


def _guarded(stack: _Stack, request_deserializer: Deserializer | None) -> Handler:
    handler, steps, failure = stack
    streamed = handler.request_streaming
    enters = tuple(step.enter for step in steps if step.enter is not None)
    checks = tuple(step.check for step in steps if step.check is not None)

    async def checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        position = 0
        async for request in requests:
            for each in checks:
                each(request, position)
            position += 1
            yield request

    def begin(request: Any, context: Context) -> Any:  # noqa: ANN401
        # The steps for one call; what to hand the behaviour as its request.
        if streamed:
            for each in enters:
                each(context)
            return checked(request) if checks else request
        for step_enter, step_check in steps:
            if step_enter is not None:
                step_enter(context)
            if step_check is not None:
                step_check(request, None)
        return request

    def single(behaviour: Single) -> Single:
        if failure is None:

            async def guarded(request: Any, context: Context) -> Any:  # noqa: ANN401
                return await behaviour(begin(request, context), context)

            return guarded

        async def mapped(request: Any, context: Context) -> Any:  # noqa: ANN401
            try:
                return await behaviour(begin(request, context), context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await failure(context, exc)

        return mapped

    def streaming(behaviour: Streaming) -> Streaming:
        async def guarded(request: Any, context: Context) -> AsyncIterator[Any]:  # noqa: ANN401
            try:
                async for response in behaviour(begin(request, context), context):
                    yield response
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                if failure is None:
                    raise
                await failure(context, exc)

        return guarded

    made = with_behaviour(
        handler, single=single, streaming=streaming, request_deserializer=request_deserializer
    )
    setattr(getattr(made, behaviour_kind(made)), _STACK, stack)
    return made
