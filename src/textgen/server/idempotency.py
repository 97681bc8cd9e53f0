"""Idempotent creates (AIP-155): the first answer to a request id, given again to repeats.

A create request may carry a `request_id` (a UUID4 the client picks). `RequestIds.once`
runs the create the first time an id is seen for a (principal, method) and remembers its
answer, encoded, for `ttl` seconds of the server clock; a repeat within that time gets the
remembered answer (a long-running create's operation as it is now, when it is still there)
and creates nothing. A repeat that arrives while the first is still running waits for it.
A first attempt that fails remembers nothing, so the client may try the id again; the
waiters on it then get the same error, or run the create themselves when it was cancelled.

Ids are scoped to the principal that sent them, so one caller's ids never answer another's.
At most `capacity` ids are kept; past that the oldest are forgotten first. The memory is
this process's: a restart forgets every id (like the in-memory stores).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message

from textgen.server.clock import Clock
from textgen.server.rpc.errors import FieldViolation, invalid_argument

M = TypeVar("M", bound=Message)
_Key = tuple[str, str, str]  # principal, method, request id
# The longest request id accepted (a UUID is 36 characters).
MAX_REQUEST_ID = 64


class RequestIds:
    """Answers of creates by (principal, method, request_id), for `ttl` seconds."""

    def __init__(self, clock: Clock, ttl: float, capacity: int) -> None:
        self._clock = clock
        self.ttl = ttl
        self.capacity = capacity
        self._answers: OrderedDict[_Key, tuple[float, bytes]] = OrderedDict()
        self._running: dict[_Key, asyncio.Future[bytes]] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def clear(self) -> None:
        """Forget every id (FakeServer.reset)."""
        self._answers.clear()

    async def once(
        self,
        principal: str,
        method: str,
        request_id: str,
        response_type: type[M],
        create: Callable[[], Awaitable[M]],
        *,
        refresh: Callable[[M], Awaitable[M]] | None = None,
        field: str = "request_id",
    ) -> M:
        """`create()`'s answer, run once per id; see the module docstring. `refresh` turns a
        remembered answer into the current one (an operation read again)."""
        if not request_id:
            return await create()
        if len(request_id) > MAX_REQUEST_ID:
            raise invalid_argument(
                [FieldViolation(field, f"must be at most {MAX_REQUEST_ID} characters")]
            )
        key = (principal, method, request_id)
        while True:
            remembered = self._remembered(key)
            if remembered is not None:
                answer = response_type.FromString(remembered)
                return answer if refresh is None else await refresh(answer)
            running = self._running.get(key)
            if running is None:
                break
            try:
                await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():
                    raise  # this waiter was cancelled, not the first request
                # The first request was cancelled: look again, and create if still nobody has.
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            answer = await create()
        except BaseException as error:
            self._running.pop(key, None)
            if isinstance(error, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(error)
                future.exception()  # retrieved, so an unwaited future logs nothing
            raise
        data = answer.SerializeToString()
        self._remember(key, data)
        self._running.pop(key, None)
        future.set_result(data)
        return answer

    def forget(self, principal: str, method: str, request_id: str) -> None:
        """Forget one id's answer (its resource was withdrawn)."""
        self._answers.pop((principal, method, request_id), None)

    def _remembered(self, key: _Key) -> bytes | None:
        self._expire()
        found = self._answers.get(key)
        return None if found is None else found[1]

    def _remember(self, key: _Key, data: bytes) -> None:
        self._answers[key] = (self._clock.now() + self.ttl, data)
        self._answers.move_to_end(key)
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)

    def _expire(self) -> None:
        # Answers are kept in the order they were given, so the oldest expire first.
        now = self._clock.now()
        while self._answers:
            key, (expires, _) = next(iter(self._answers.items()))
            if expires > now:
                break
            del self._answers[key]
