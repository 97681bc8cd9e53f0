"""The channel: where to connect, TLS or not, the retry service config, typed RPC invocation.

This module is the only place that touches channels and multicallables. The service config
comes from the client's `textgen.retry.RetryPolicy`, which says which layer retries what.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeAlias, TypeVar, cast

import grpc
import grpc.aio
from google.protobuf.message import Message

from textgen import __version__, errors
from textgen._calls import Method
from textgen._routes import Adapted
from textgen.retry import RetryPolicy

ENDPOINT_ENV = "TEXTGEN_ENDPOINT"
EMULATOR_ENV = "TEXTGEN_EMULATOR_HOST"
API_KEY_ENV = "TEXTGEN_API_KEY"
API_KEY_HEADER = "x-api-key"

# Every channel gets these options; `Client(options=...)` adds to them.
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.enable_retries", 1),
    ("grpc.primary_user_agent", f"textgen-python/{__version__}"),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
)

Credentials: TypeAlias = "grpc.ChannelCredentials | Literal['insecure'] | None"
SyncInterceptor: TypeAlias = (
    "grpc.UnaryUnaryClientInterceptor | grpc.UnaryStreamClientInterceptor"
    " | grpc.StreamUnaryClientInterceptor | grpc.StreamStreamClientInterceptor"
)
AsyncInterceptor: TypeAlias = "grpc.aio.ClientInterceptor"
ChannelOptions: TypeAlias = Sequence[tuple[str, Any]]  # values are ints and strings
C = TypeVar("C")  # a channel
IC = TypeVar("IC")  # an interceptor of that channel
C_co = TypeVar("C_co", covariant=True)
IC_contra = TypeVar("IC_contra", contravariant=True)
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)
M = TypeVar("M")  # a multicallable
T = TypeVar("T")
Channel: TypeAlias = "grpc.Channel | grpc.aio.Channel"


def service_config(retry: RetryPolicy, methods: Sequence[Method[Any, Any]]) -> str:
    """The `grpc.service_config` JSON: `retry` rendered for the methods gRPC retries."""
    return json.dumps(retry.service_config([(m.service, m.name) for m in methods]))


def channel_options(
    retry: RetryPolicy, methods: Sequence[Method[Any, Any]], extra: ChannelOptions = ()
) -> list[tuple[str, Any]]:
    """CHANNEL_OPTIONS, the retry service config, then the caller's own options."""
    config = ("grpc.service_config", service_config(retry, methods))
    return [*CHANNEL_OPTIONS, config, *extra]


def _host(target: str) -> str:
    """The host part of a gRPC target such as `dns:///h:1`, `ipv4:h:1`, `[::1]:1` or `h:1`."""
    rest = target
    for prefix in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if rest.startswith(prefix):
            rest = rest[len(prefix) :]
            break
    rest = rest.split(",")[0]
    if rest.startswith("["):
        return rest[1 : rest.find("]")] if "]" in rest else rest[1:]
    if rest.count(":") > 1:  # a bare IPv6 address without a port
        return rest
    return rest.rsplit(":", 1)[0] if ":" in rest else rest


def is_loopback(target: str) -> bool:
    """True for unix sockets, `localhost` and 127.0.0.0/8 or ::1 addresses."""
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    host = _host(target).lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoint:
    """Where to connect and how: `credentials` None means plaintext."""

    target: str
    credentials: grpc.ChannelCredentials | None


def resolve_endpoint(target: str | None, credentials: Credentials) -> Endpoint:
    """Apply the target fallbacks and the TLS rules.

    target: the argument, else $TEXTGEN_ENDPOINT, else the emulator in $TEXTGEN_EMULATOR_HOST.
    credentials: a grpc.ChannelCredentials (TLS), "insecure" (plaintext), or None: plaintext
    for loopback targets and the emulator, TLS with the system roots otherwise. Plaintext to
    any other host is refused, since the API key would travel in the clear.
    """
    emulator = os.environ.get(EMULATOR_ENV) or None
    if target is None:
        target = os.environ.get(ENDPOINT_ENV) or emulator
    if not target:
        raise ValueError(
            f"no target: pass Client(target=...) or set ${ENDPOINT_ENV} "
            f"(or ${EMULATOR_ENV} for a local emulator)"
        )
    plaintext_ok = is_loopback(target) or (emulator is not None and target == emulator)
    if credentials is None:
        credentials = "insecure" if plaintext_ok else grpc.ssl_channel_credentials()
    if isinstance(credentials, str):
        if credentials != "insecure":
            raise ValueError(
                f"credentials must be a grpc.ChannelCredentials or 'insecure', not {credentials!r}"
            )
        if not plaintext_ok:
            raise ValueError(
                f"refusing an insecure connection to {target!r}: plaintext is only allowed for "
                f"loopback addresses (127.0.0.0/8, localhost, ::1, unix:) or the emulator in "
                f"${EMULATOR_ENV}; pass TLS credentials instead"
            )
        return Endpoint(target, None)
    return Endpoint(target, credentials)


def open_sync_channel(
    endpoint: Endpoint, options: ChannelOptions, interceptors: Sequence[SyncInterceptor]
) -> grpc.Channel:
    """A blocking grpc.Channel with the interceptors applied."""
    if endpoint.credentials is None:
        channel = grpc.insecure_channel(endpoint.target, options=list(options))
    else:
        channel = grpc.secure_channel(endpoint.target, endpoint.credentials, options=list(options))
    return grpc.intercept_channel(channel, *interceptors) if interceptors else channel


def open_async_channel(
    endpoint: Endpoint, options: ChannelOptions, interceptors: Sequence[AsyncInterceptor]
) -> grpc.aio.Channel:
    """A grpc.aio.Channel with the interceptors applied; call inside the event loop."""
    chosen = list(interceptors) or None
    if endpoint.credentials is None:
        return grpc.aio.insecure_channel(
            endpoint.target, options=list(options), interceptors=chosen
        )
    return grpc.aio.secure_channel(
        endpoint.target, endpoint.credentials, options=list(options), interceptors=chosen
    )


class Opener(Protocol[C_co, IC_contra]):
    """Opens a channel: open_sync_channel or open_async_channel."""

    def __call__(
        self, endpoint: Endpoint, options: ChannelOptions, interceptors: Sequence[IC_contra], /
    ) -> C_co: ...


class ChannelPool(Generic[C, IC]):
    """The client's channels, opened lazily, shared by `with_options`.

    gRPC fixes the service config when a channel opens, so a `with_options(retry=...)` whose
    policy renders a different config gets a sibling channel; policies that render the same
    config (say max_retries 4 and 10, both 5 attempts for gRPC) and every other option share
    one. `methods` lists the methods whose retries gRPC runs (see `textgen.retry`).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        opener: Opener[C, IC],
        *,
        options: ChannelOptions = (),
        interceptors: Sequence[IC] = (),
        methods: Callable[[], Sequence[Method[Any, Any]]],
    ) -> None:
        self.endpoint = endpoint
        self._opener = opener
        self._options = tuple(options)
        self._interceptors = tuple(interceptors)
        self._methods = methods
        self._by_config: dict[str, C] = {}  # one channel per service config JSON
        self._channels: dict[RetryPolicy, C] = {}  # each policy seen, for a fast lookup
        self._lock = threading.Lock()
        self.closed = False

    def get(self, retry: RetryPolicy) -> C:
        """The channel for this retry policy, opened on first use."""
        opened = self._channels.get(retry)  # the hot path: no lock once the channel exists
        if opened is not None and not self.closed:
            return opened
        with self._lock:
            if self.closed:
                raise RuntimeError("the client is closed")
            if retry not in self._channels:
                methods = self._methods()
                config = service_config(retry, methods)
                if config not in self._by_config:
                    options = channel_options(retry, methods, self._options)
                    self._by_config[config] = self._opener(
                        self.endpoint, options, self._interceptors
                    )
                self._channels[retry] = self._by_config[config]
            return self._channels[retry]

    def take_all(self) -> list[C]:
        """Mark the pool closed and hand over its channels for closing."""
        with self._lock:
            self.closed = True
            channels = list(self._by_config.values())
            self._by_config.clear()
            self._channels.clear()
            return channels


# Multicallables per channel and method path, built once like the generated stubs do:
# building one per call cost about 20 microseconds each time.
_MULTICALLABLES: weakref.WeakKeyDictionary[Channel, dict[str, object]] = weakref.WeakKeyDictionary()


def _multicallable(channel: Channel, method: Method[Any, Any], factory: Callable[..., M]) -> M:
    """`factory(path, ...)` for this channel, built on first use; `factory` is one of the
    channel's unary_unary, unary_stream, stream_unary and stream_stream. A path always names
    the same method of one flavour, so it is a good key even for an `Adapted` method.

    Callable[..., M]: the grpc stubs leave out `_registered_method`, which grpcio takes and
    the generated stubs pass too.
    """
    cache = _MULTICALLABLES.get(channel)
    if cache is None:
        cache = _MULTICALLABLES.setdefault(channel, {})
    found = cache.get(method.path)
    if found is None:
        serializer: Callable[[Any], bytes] = method.request_type.SerializeToString
        deserializer: Callable[[bytes], Any] = method.response_type.FromString
        if isinstance(method, Adapted):  # a flavour's method of another shape (_routes)
            serializer, deserializer = method.encode, method.decode
        found = cache[method.path] = factory(
            method.path,
            request_serializer=serializer,
            response_deserializer=deserializer,
            _registered_method=True,
        )
    return cast(M, found)  # a path has one kind of RPC, so the same factory built it


def _fail(error: grpc.RpcError, method: Method[Any, Any], target: str) -> errors.APIError:
    return errors.from_rpc_error(error, method=method.path, target=target)


Metadata = Sequence[tuple[str, str]]


def unary(
    channel: grpc.Channel,
    method: Method[Req, Resp],
    request: Req,
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> Resp:
    """One blocking unary RPC; failures raise the matching textgen.errors class."""
    call: grpc.UnaryUnaryMultiCallable[Req, Resp] = _multicallable(
        channel, method, channel.unary_unary
    )
    try:
        return call(request, timeout=timeout, metadata=tuple(metadata) or None)
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None


def stream(
    channel: grpc.Channel,
    method: Method[Req, Resp],
    request: Req,
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> Iterator[Resp]:
    """A blocking server stream; cancelled when the iterator is closed early."""
    call: grpc.UnaryStreamMultiCallable[Req, Resp] = _multicallable(
        channel, method, channel.unary_stream
    )
    responses = call(request, timeout=timeout, metadata=tuple(metadata) or None)
    try:
        yield from responses
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None
    finally:
        responses.cancel()


async def aio_unary(
    channel: grpc.aio.Channel,
    method: Method[Req, Resp],
    request: Req,
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> Resp:
    """One asyncio unary RPC; failures raise the matching textgen.errors class."""
    call: grpc.aio.UnaryUnaryMultiCallable[Req, Resp] = _multicallable(
        channel, method, channel.unary_unary
    )
    try:
        return await call(request, timeout=timeout, metadata=tuple(metadata) or None)
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None


async def aio_stream(
    channel: grpc.aio.Channel,
    method: Method[Req, Resp],
    request: Req,
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> AsyncIterator[Resp]:
    """An asyncio server stream; cancelled when the iterator is closed early."""
    call: grpc.aio.UnaryStreamMultiCallable[Req, Resp] = _multicallable(
        channel, method, channel.unary_stream
    )
    responses = call(request, timeout=timeout, metadata=tuple(metadata) or None)
    try:
        async for response in responses:
            yield response
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None
    finally:
        responses.cancel()


def _watched(requests: Iterable[T], failures: list[Exception]) -> Iterator[T]:
    # The caller's requests; an exception they raise is kept, since grpc only cancels.
    try:
        yield from requests
    except Exception as failure:
        failures.append(failure)
        raise


def upload(
    channel: grpc.Channel,
    method: Method[Req, Resp],
    requests: Iterable[Req],
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> Resp:
    """One blocking client-streaming RPC; an exception raised by `requests` is re-raised."""
    call: grpc.StreamUnaryMultiCallable[Req, Resp] = _multicallable(
        channel, method, channel.stream_unary
    )
    failures: list[Exception] = []
    try:
        return call(_watched(requests, failures), timeout=timeout, metadata=tuple(metadata) or None)
    except grpc.RpcError as error:
        if failures:
            raise failures[0] from None
        raise _fail(error, method, target) from None


async def aio_upload(
    channel: grpc.aio.Channel,
    method: Method[Req, Resp],
    requests: Iterable[Req],
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> Resp:
    """One asyncio client-streaming RPC; an exception raised by `requests` is re-raised.

    The requests are written here rather than handed to grpc.aio as an iterator: when the
    server ends the call early (say ALREADY_EXISTS after the header), a later write fails, and
    grpc.aio's own iterator consumer then reports a bare INTERNAL. Writing ourselves, we stop at
    that failed write and read the status the server really sent.
    """
    call: grpc.aio.StreamUnaryMultiCallable[Req, Resp] = _multicallable(
        channel, method, channel.stream_unary
    )
    stream = call(timeout=timeout, metadata=tuple(metadata) or None)
    try:
        for request in requests:
            try:
                await stream.write(request)
            except (asyncio.InvalidStateError, grpc.RpcError):
                break  # the server has ended the call; its status is read below
        else:
            with contextlib.suppress(asyncio.InvalidStateError, grpc.RpcError):
                await stream.done_writing()
    except BaseException:  # raised by the caller's requests (or a cancellation)
        stream.cancel()
        raise
    try:
        return await stream
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None
