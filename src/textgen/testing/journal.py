"""The request journal: a server policy that records every call for assertions.

Each `Call` holds the full method name, the parsed request message(s), the invocation
metadata and the time left before the client's deadline (None without one). A call made by
an upstream API's name for one of our methods (textgen.apis) is recorded under our method's
name, with the path it came by in `path` and its flavour in `api`::

    fake.journal.assert_called("GenerateText", times=1)
    call = fake.journal.last("GenerateText")
    assert call.request.prompt.text == "hi"
    assert call.header("x-api-key") == "secret"
    assert call.time_remaining is not None and call.time_remaining <= 5

Method names may be short ("GenerateText"), "ModelService/GenerateText" or full
("/textgen.v1.ModelService/GenerateText"); see `textgen.testing.methods.full_name`.
The journal is thread-safe: the server records from its loop while a test reads. It is a
policy of the server (`textgen.server.rpc.policy`): a call is recorded when it reaches the
servicer, after authentication, with its request already parsed; the messages of a client
stream are added as the servicer reads them.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.policy import Single, Streaming, with_behaviour
from textgen.server.rpc.routing import current_route
from textgen.testing.methods import full_name

Metadata = tuple[tuple[str, str | bytes], ...]


@dataclass
class Call:
    """One call the server received."""

    method: str
    metadata: Metadata
    # Request messages in the order they arrived: one for unary requests.
    requests: list[Any] = field(default_factory=list)
    # Seconds left before the client's deadline when the call reached the servicer.
    time_remaining: float | None = None
    # The path the call came by (`method`, or an upstream name for it) and its API flavour.
    path: str = ""
    api: str = "textgen"

    @property
    def request(self) -> Any:  # noqa: ANN401  (the message type depends on the method)
        """The request message of a unary-request call (the first of a stream)."""
        if not self.requests:
            raise AssertionError(f"{self.method} has not received a request message")
        return self.requests[0]

    @property
    def short_method(self) -> str:
        """The method's own name, such as "GenerateText"."""
        return self.method.rsplit("/", 1)[-1]

    def header(self, key: str) -> str | bytes | None:
        """The last metadata value for `key` (lower case), or None."""
        values = [value for name, value in self.metadata if name == key.lower()]
        return values[-1] if values else None


class Journal:
    """Records every call; query it with calls/last and assert with assert_called."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def wrap(self, method: str, handler: Handler) -> Handler:
        """`handler`, recording each call and its request messages (a server policy)."""
        streamed = handler.request_streaming

        def begin(request: Any, context: Context) -> Any:  # noqa: ANN401
            metadata = tuple((key, value) for key, value in context.invocation_metadata() or ())
            call = Call(method, metadata, time_remaining=context.time_remaining())
            route = current_route()
            call.path = method if route is None else route.path
            if route is not None:
                call.api = route.api
            if not streamed:
                call.requests.append(request)
            with self._lock:
                self._calls.append(call)
            return self._recording(call, request) if streamed else request

        def single(behaviour: Single) -> Single:
            async def recorded(request: Any, context: Context) -> Any:  # noqa: ANN401
                return await behaviour(begin(request, context), context)

            return recorded

        def streaming(behaviour: Streaming) -> Streaming:
            async def recorded(request: Any, context: Context) -> AsyncIterator[Any]:  # noqa: ANN401
                async for response in behaviour(begin(request, context), context):
                    yield response

            return recorded

        return with_behaviour(handler, single=single, streaming=streaming)

    async def _recording(self, call: Call, requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request in requests:
            with self._lock:
                call.requests.append(request)
            yield request

    def calls(self, method: str | None = None) -> list[Call]:
        """Every recorded call, oldest first; only those of `method` when given."""
        wanted = None if method is None else full_name(method)
        with self._lock:
            return [call for call in self._calls if wanted is None or call.method == wanted]

    def last(self, method: str | None = None) -> Call:
        """The most recent call (of `method`); AssertionError when there is none."""
        calls = self.calls(method)
        if not calls:
            raise AssertionError(f"no call{' to ' + method if method else ''} was recorded")
        return calls[-1]

    def assert_called(self, method: str, times: int | None = None) -> list[Call]:
        """Assert `method` was called (exactly `times` times when given); return the calls."""
        calls = self.calls(method)
        if times is None and not calls:
            raise AssertionError(f"{method} was not called; recorded: {self._summary()}")
        if times is not None and len(calls) != times:
            raise AssertionError(
                f"{method} was called {len(calls)} time(s), expected {times}; "
                f"recorded: {self._summary()}"
            )
        return calls

    def assert_not_called(self, method: str) -> None:
        """Assert `method` was never called."""
        self.assert_called(method, times=0)

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls())

    def _summary(self) -> str:
        return ", ".join(call.short_method for call in self.calls()) or "nothing"
