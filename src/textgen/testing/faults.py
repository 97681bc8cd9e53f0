"""Scripted responses and faults: per-method steps a server policy plays before the servicer.

A script is a queue of steps for one method. Each call takes the next step; when the queue is
empty, calls fall through to the real servicer::

    fake.script("GenerateText").fail(
        grpc.StatusCode.UNAVAILABLE, times=2, details=[retry_info]
    ).then_respond(canned_response)

    # One failure built with the servers' own error helpers, then a slow real answer:
    fake.script("CreateTunedModel").fail_with(errors.resource_exhausted("busy", 1.5))
    fake.script("GetModel").delay(0.2)

Steps are data (`Fail`, `Respond`, `Delay`, `PassThrough`), so a sequence can also be given
as a list: `fake.script("GetModel", [Fail(status), PassThrough(), Respond(model)])`.
Failures are sent like the servicers' own (`textgen.server.rpc.errors.abort`), so clients read their
details with `rpc_status.from_call(error)`. Delays sleep in real time, to exercise deadlines.
For a server-streaming method, a canned response may be a list of messages, sent in order.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2

from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.errors import ServiceError, abort, make_error
from textgen.server.rpc.policy import Single, Streaming, with_behaviour
from textgen.testing.methods import full_name


@dataclass(frozen=True)
class Fail:
    """End the call with this status (code, message and google.rpc details)."""

    status: status_pb2.Status
    delay: float = 0.0


@dataclass(frozen=True)
class Respond:
    """Answer with a canned response (a list of messages for a server-streaming method)."""

    response: Message | Sequence[Message]
    delay: float = 0.0


@dataclass(frozen=True)
class Delay:
    """Wait, then let the real servicer answer."""

    delay: float


@dataclass(frozen=True)
class PassThrough:
    """Let the real servicer answer this call."""

    delay: float = 0.0


Step: TypeAlias = Fail | Respond | Delay | PassThrough


class Script:
    """The steps queued for one method; every builder method returns the script to chain."""

    def __init__(self, method: str, steps: Iterable[Step] = ()) -> None:
        self.method = method
        self._lock = threading.Lock()
        self._steps: deque[Step] = deque(steps)

    def add(self, step: Step, *, times: int = 1) -> Script:
        """Queue `step` for the next `times` calls."""
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        with self._lock:
            self._steps.extend([step] * times)
        return self

    def fail(
        self,
        code: grpc.StatusCode,
        message: str = "",
        *,
        details: Sequence[Message] = (),
        delay: float = 0.0,
        times: int = 1,
    ) -> Script:
        """Fail the next `times` calls with `code`, `message` and google.rpc `details`."""
        text = message or f"scripted {code.name} for {self.method}"
        error = make_error(code.value[0], text, *details)
        return self.add(Fail(error.status, delay), times=times)

    def fail_with(self, error: ServiceError, *, delay: float = 0.0, times: int = 1) -> Script:
        """Fail the next `times` calls with a ServiceError from `textgen.server.rpc.errors`."""
        return self.add(Fail(error.status, delay), times=times)

    def respond(
        self, response: Message | Sequence[Message], *, delay: float = 0.0, times: int = 1
    ) -> Script:
        """Answer the next `times` calls with `response` instead of the servicer."""
        return self.add(Respond(response, delay), times=times)

    def delay(self, seconds: float, *, times: int = 1) -> Script:
        """Delay the next `times` calls by `seconds`, then let the servicer answer."""
        return self.add(Delay(seconds), times=times)

    def passthrough(self, *, times: int = 1) -> Script:
        """Let the servicer answer the next `times` calls (to place a fault later on)."""
        return self.add(PassThrough(), times=times)

    # Aliases that read well in a chain: .fail(...).then_respond(...)
    then_fail = fail
    then_fail_with = fail_with
    then_respond = respond
    then_delay = delay
    then_passthrough = passthrough

    @property
    def remaining(self) -> int:
        """How many calls still have a step waiting."""
        with self._lock:
            return len(self._steps)

    def take(self) -> Step | None:
        """The step for the current call, or None when the script is used up."""
        with self._lock:
            return self._steps.popleft() if self._steps else None


class Faults:
    """The scripts of one server, by full method name, played by a server policy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, Script] = {}

    def script(self, method: str, steps: Iterable[Step] = ()) -> Script:
        """The script of `method` (created on first use), with `steps` appended."""
        name = full_name(method)
        with self._lock:
            script = self._scripts.setdefault(name, Script(name))
        for step in steps:
            script.add(step)
        return script

    def clear(self) -> None:
        """Drop every script."""
        with self._lock:
            self._scripts.clear()

    def wrap(self, method: str, handler: Handler) -> Handler:
        """`handler`, playing the method's next scripted step first (a server policy)."""
        scripts, lock = self._scripts, self._lock

        async def before(context: Context) -> object | None:
            with lock:
                script = scripts.get(method)
            step = None if script is None else script.take()
            return None if step is None else await _play(step, context)

        def single(behaviour: Single) -> Single:
            async def scripted(request: Any, context: Context) -> Any:  # noqa: ANN401
                canned = await before(context)
                return canned if canned is not None else await behaviour(request, context)

            return scripted

        def streaming(behaviour: Streaming) -> Streaming:
            async def scripted(request: Any, context: Context) -> AsyncIterator[Any]:  # noqa: ANN401
                canned = await before(context)
                if canned is not None:
                    for item in canned if isinstance(canned, list | tuple) else (canned,):
                        yield item
                    return
                async for response in behaviour(request, context):
                    yield response

            return scripted

        return with_behaviour(handler, single=single, streaming=streaming)


async def _play(step: Step, context: Context) -> object | None:
    if step.delay > 0:
        await asyncio.sleep(step.delay)
    if isinstance(step, Fail):
        await abort(context, ServiceError(step.status))
    if isinstance(step, Respond):
        return step.response
    return None
