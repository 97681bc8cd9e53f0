"""Calls as data: which RPC, the request, how to read the reply; programs that combine them.

Nothing here does I/O. A resource method builds one of these plans from its arguments:

* `Call` -- one unary RPC and a parse function (retried by the `retrying` program, under the
  client's `textgen.retry.RetryPolicy`);
* `Upload` -- one client-streaming RPC fed lazily from an iterable (never retried);
* a program, a generator that yields effects (`Call`, `Upload`, `Gather`, `Sleep`, `Invoke`,
  `Attempt`) and receives their results, for logic that spans calls (function calling,
  waiting, uploading then starting a job);
* `Paged` -- a list RPC read page by page;
* `Streamed` -- a server-streaming RPC whose messages are parsed into items;
* `LongRunning` -- a plan whose result is a google.longrunning.Operation of known types.

`textgen._shells` runs these plans, once for blocking code and once for asyncio.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeAlias, TypeVar, overload

from google.longrunning import operations_pb2
from google.protobuf.message import Message

from textgen import errors
from textgen.retry import RetryPolicy

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)
R = TypeVar("R")
T = TypeVar("T")
M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Method(Generic[Req, Resp]):
    """One RPC of the contract. `idempotent` says whether a failed attempt may be sent again."""

    service: str
    name: str
    request_type: type[Req]
    response_type: type[Resp]
    idempotent: bool
    streaming: bool = False
    client_streaming: bool = False

    @property
    def path(self) -> str:
        """The HTTP/2 path, e.g. `/textgen.v1.ModelService/GetModel`."""
        return f"/{self.service}/{self.name}"


_REGISTRY: dict[str, Method[Any, Any]] = {}


def method(
    service: str,
    name: str,
    request_type: type[Req],
    response_type: type[Resp],
    *,
    idempotent: bool,
    streaming: bool = False,
    client_streaming: bool = False,
) -> Method[Req, Resp]:
    """Declare an RPC once; idempotent ones are retried under the client's RetryPolicy.

    `streaming` marks a server stream, `client_streaming` a stream of requests.
    """
    if client_streaming and idempotent:
        raise ValueError(f"{name}: a client stream is sent once and cannot be idempotent")
    declared = Method(
        service, name, request_type, response_type, idempotent, streaming, client_streaming
    )
    _REGISTRY[declared.path] = declared
    return declared


def grpc_retried_methods() -> list[Method[Any, Any]]:
    """The methods whose retries gRPC runs, for the channel's service config: the idempotent
    server streams. Unary methods are retried by `retrying` alone (see `textgen.retry`)."""
    return [m for m in _REGISTRY.values() if m.idempotent and m.streaming]


def _identity(value: T) -> T:
    return value


@dataclass(frozen=True)
class Call(Generic[R]):
    """One unary RPC: the method, the request, and how to turn the reply into R.

    `timeout` overrides the client's per-call timeout; it bounds every attempt together.
    """

    method: Method[Any, Any]
    request: Message
    parse: Callable[[Any], R]
    timeout: float | None = None


@overload
def call(
    method: Method[Req, Resp], request: Req, *, timeout: float | None = None
) -> Call[Resp]: ...
@overload
def call(
    method: Method[Req, Resp],
    request: Req,
    parse: Callable[[Resp], R],
    *,
    timeout: float | None = None,
) -> Call[R]: ...
def call(
    method: Method[Req, Resp],
    request: Req,
    parse: Callable[[Resp], Any] = _identity,
    *,
    timeout: float | None = None,
) -> Call[Any]:
    """A Call, typed from its method: the request must match, the parse reads the response."""
    return Call(method, request, parse, timeout)


@dataclass(frozen=True)
class Upload(Generic[R]):
    """One client-streaming RPC: requests sent in order as they are produced, one reply.

    `requests` is iterated once, lazily (it may be a generator reading a file), so an upload
    is never resent. An exception raised while producing requests cancels the RPC and is
    re-raised to the caller as it was.
    """

    method: Method[Any, Any]
    requests: Iterable[Message]
    parse: Callable[[Any], R]
    timeout: float | None = None


@overload
def upload(
    method: Method[Req, Resp], requests: Iterable[Req], *, timeout: float | None = None
) -> Upload[Resp]: ...
@overload
def upload(
    method: Method[Req, Resp],
    requests: Iterable[Req],
    parse: Callable[[Resp], R],
    *,
    timeout: float | None = None,
) -> Upload[R]: ...
def upload(
    method: Method[Req, Resp],
    requests: Iterable[Req],
    parse: Callable[[Resp], Any] = _identity,
    *,
    timeout: float | None = None,
) -> Upload[Any]:
    """An Upload, typed from its method; the method must be declared `client_streaming`."""
    if not method.client_streaming:
        raise ValueError(f"{method.path} is not a client-streaming method")
    return Upload(method, requests, parse, timeout)


@dataclass(frozen=True)
class Attempt:
    """A single try of a Call with a fixed deadline; only `retrying` yields these."""

    call: Call[Any]
    timeout: float


@dataclass(frozen=True)
class Gather:
    """Run several Calls concurrently; the result is the list of their results, in order."""

    calls: Sequence[Call[Any]]


@dataclass(frozen=True)
class Sleep:
    """Pause the program for some seconds."""

    seconds: float


@dataclass(frozen=True)
class Invoke:
    """Call caller-supplied code (a tool function, a progress callback); may be a coroutine."""

    function: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    args: tuple[Any, ...] = ()


Effect: TypeAlias = Call[Any] | Upload[Any] | Attempt | Gather | Sleep | Invoke
Program: TypeAlias = Generator[Effect, Any, R]
Plan: TypeAlias = Call[R] | Program[R]


def single(plan: Plan[R]) -> Program[R]:
    """Any plan as a program (a Call becomes a one-step program)."""
    if isinstance(plan, Call):
        return _one(plan)
    return plan


def _one(c: Call[R]) -> Program[R]:
    result: R = yield c
    return result


def mapped(plan: Plan[T], function: Callable[[T], R]) -> Program[R]:
    """A plan whose result is passed through `function`."""
    value: T = yield from single(plan)
    return function(value)


@dataclass(frozen=True)
class CallOptions:
    """Per-client call settings, replaced by `with_options`."""

    timeout: float
    retry: RetryPolicy
    metadata: tuple[tuple[str, str], ...] = ()

    def replace(self, *, timeout: float | None, retry: RetryPolicy | None) -> CallOptions:
        """A copy with the given values changed."""
        return replace(
            self,
            timeout=self.timeout if timeout is None else timeout,
            retry=self.retry if retry is None else retry,
        )


def budget(c: Call[Any], options: CallOptions) -> float:
    """The seconds all attempts of a Call share."""
    return options.timeout if c.timeout is None else c.timeout


def retrying(
    c: Call[R],
    options: CallOptions,
    *,
    failure: errors.APIError | None = None,
    deadline: float | None = None,
    resendable: bool | None = None,
) -> Program[R]:
    """Attempts of one Call inside one total deadline and one request budget.

    This loop is the only retry layer of unary methods (gRPC has no retryPolicy for them;
    see `textgen.retry`), so each Attempt is exactly one request and the budget
    `options.retry.max_attempts` counts them all. A failure is resent when the method is
    idempotent, requests remain, the policy gives a delay for it (backoff for a retryable
    status, the server's RetryInfo delay for RESOURCE_EXHAUSTED) and that delay ends before
    the deadline. Otherwise the last failure is raised as it came.

    The shells make a Call's first attempt themselves (the common case needs no program);
    when it fails they continue here with its `failure` and the `deadline` it used, and with
    `resendable` when the API flavour decides it instead of the method's declaration.
    """
    if resendable is None:
        resendable = c.method.idempotent
    policy = options.retry
    total = budget(c, options)
    if deadline is None:
        deadline = time.monotonic() + total
    sent = 0 if failure is None else 1
    while True:
        if failure is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.DeadlineExceeded(
                    f"no time left of the {total:g}s deadline after {sent} attempt(s)",
                    method=c.method.path,
                )
            sent += 1
            try:
                result: R = yield Attempt(c, remaining)
            except errors.APIError as exc:
                failure = exc
            else:
                return result
        if not resendable or sent >= policy.max_attempts:
            raise failure
        delay = policy.delay(failure.code, failure.retry_delay, retry=sent)
        if delay is None or time.monotonic() + delay >= deadline:
            raise failure
        failure = None
        yield Sleep(delay)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list call: its items, the token for the next page, and the raw reply."""

    items: list[T]
    next_page_token: str
    raw: Message


@dataclass(frozen=True)
class Paged(Generic[T]):
    """A list RPC following AIP-158: `first` fetches page one, `next(token)` the page after."""

    first: Call[Page[T]]
    next: Callable[[str], Call[Page[T]]]


def paged(
    method: Method[Req, Resp], request: Req, items: Callable[[Resp], Iterable[T]]
) -> Paged[T]:
    """A Paged plan; the request needs a `page_token` field, the response `next_page_token`."""

    def read(response: Resp) -> Page[T]:
        token: str = getattr(response, "next_page_token", "")
        return Page(list(items(response)), token, response)

    def after(token: str) -> Call[Page[T]]:
        following = type(request)()
        following.CopyFrom(request)
        setattr(following, "page_token", token)  # noqa: B010  (AIP field, not in Message)
        return call(method, following, read)

    return Paged(call(method, request, read), after)


@dataclass(frozen=True)
class Streamed(Generic[T]):
    """A server-streaming RPC; `items` turns each message into the items it carries."""

    method: Method[Any, Any]
    request: Message
    items: Callable[[Any], Iterable[T]]


def streamed(method: Method[Req, Resp], request: Req, parse: Callable[[Resp], T]) -> Streamed[T]:
    """A Streamed plan yielding one item per message, typed from its method."""
    return Streamed(method, request, lambda message: (parse(message),))


def streamed_items(
    method: Method[Req, Resp], request: Req, items: Callable[[Resp], Iterable[T]]
) -> Streamed[T]:
    """A Streamed plan whose messages each carry several items (e.g. a chunk of rows)."""
    return Streamed(method, request, items)


@dataclass(frozen=True)
class Progress:
    """How far an operation has come, for progress renderers: `completed` of `total` units."""

    completed: float
    total: float | None = None
    description: str = ""


@dataclass(frozen=True)
class LongRunning(Generic[T, M]):
    """A plan that yields a google.longrunning.Operation whose response is T and metadata M.

    The types may be None when unknown (e.g. `operations.get`); then they are looked up from
    the Any's type URL. `describe` turns metadata into Progress for progress bars.
    """

    start: Plan[operations_pb2.Operation]
    response_type: type[T] | None
    metadata_type: type[M] | None
    describe: Callable[[M], Progress] | None = None


class Done(Generic[R]):
    """The value a finished program returned."""

    def __init__(self, value: R) -> None:
        self.value = value


class Driver(Generic[R]):
    """Steps a program: each step is the next effect to perform, or Done."""

    def __init__(self, program: Program[R]) -> None:
        self._program = program

    def start(self) -> Effect | Done[R]:
        """Run the program to its first effect."""
        try:
            return next(self._program)
        except StopIteration as stop:
            return Done(stop.value)

    def send(self, value: object) -> Effect | Done[R]:
        """Give the program the result of its last effect."""
        try:
            return self._program.send(value)
        except StopIteration as stop:
            return Done(stop.value)

    def throw(self, error: BaseException) -> Effect | Done[R]:
        """Raise the failure of its last effect inside the program."""
        try:
            return self._program.throw(error)
        except StopIteration as stop:
            return Done(stop.value)
