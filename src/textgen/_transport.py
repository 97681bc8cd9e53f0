"""The channel: where to connect, TLS or not, the retry service config, typed RPC invocation.

grpc is untyped; this module is the only place that touches channels and multicallables, and
it gives them types. Retries of UNAVAILABLE for idempotent methods are gRPC's own (the
service config below); `textgen._calls.retrying` adds only what gRPC cannot do.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio

from textgen import __version__, errors
from textgen._calls import Method

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

# Backoff of gRPC's own retries (UNAVAILABLE on idempotent methods). gRPC adds the jitter.
RETRY_POLICY: dict[str, Any] = {
    "initialBackoff": "0.1s",
    "maxBackoff": "5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
GRPC_MAX_ATTEMPTS = 5  # gRPC silently caps maxAttempts here

Credentials = Any  # grpc.ChannelCredentials | Literal["insecure"] | None
C = TypeVar("C")


def service_config(max_retries: int, methods: Sequence[Method[Any, Any]]) -> str:
    """The `grpc.service_config` JSON: retry UNAVAILABLE `max_retries` times on `methods`."""
    if max_retries <= 0 or not methods:
        return json.dumps({"methodConfig": []})
    names = [{"service": m.service, "method": m.name} for m in methods]
    attempts = min(max_retries + 1, GRPC_MAX_ATTEMPTS)
    policy = {"maxAttempts": attempts, **RETRY_POLICY}
    return json.dumps({"methodConfig": [{"name": names, "retryPolicy": policy}]})


def channel_options(
    max_retries: int, methods: Sequence[Method[Any, Any]], extra: Sequence[tuple[str, Any]] = ()
) -> list[tuple[str, Any]]:
    """CHANNEL_OPTIONS, the retry service config, then the caller's own options."""
    config = ("grpc.service_config", service_config(max_retries, methods))
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
    credentials: Any  # grpc.ChannelCredentials | None


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
    endpoint: Endpoint, options: Sequence[tuple[str, Any]], interceptors: Sequence[Any]
) -> Any:  # noqa: ANN401  (grpc.Channel)
    """A blocking grpc.Channel with the interceptors applied."""
    if endpoint.credentials is None:
        channel = grpc.insecure_channel(endpoint.target, options=list(options))
    else:
        channel = grpc.secure_channel(endpoint.target, endpoint.credentials, options=list(options))
    return grpc.intercept_channel(channel, *interceptors) if interceptors else channel


def open_async_channel(
    endpoint: Endpoint, options: Sequence[tuple[str, Any]], interceptors: Sequence[Any]
) -> Any:  # noqa: ANN401  (grpc.aio.Channel)
    """A grpc.aio.Channel with the interceptors applied; call inside the event loop."""
    chosen = list(interceptors) or None
    if endpoint.credentials is None:
        return grpc.aio.insecure_channel(
            endpoint.target, options=list(options), interceptors=chosen
        )
    return grpc.aio.secure_channel(
        endpoint.target, endpoint.credentials, options=list(options), interceptors=chosen
    )


class ChannelPool(Generic[C]):
    """The client's channels, opened lazily, one per retry budget, shared by `with_options`.

    gRPC fixes the retry policy when a channel opens, so a `with_options(max_retries=n)` that
    changes the budget gets a sibling channel; every other option reuses the same one.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        opener: Callable[[Endpoint, Sequence[tuple[str, Any]], Sequence[Any]], C],
        *,
        options: Sequence[tuple[str, Any]] = (),
        interceptors: Sequence[Any] = (),
        methods: Callable[[], Sequence[Method[Any, Any]]],
    ) -> None:
        self.endpoint = endpoint
        self._opener = opener
        self._options = tuple(options)
        self._interceptors = tuple(interceptors)
        self._methods = methods
        self._channels: dict[int, C] = {}
        self._lock = threading.Lock()
        self.closed = False

    def get(self, max_retries: int) -> C:
        """The channel for this retry budget, opened on first use."""
        key = min(max(max_retries, 0), GRPC_MAX_ATTEMPTS - 1)
        opened = self._channels.get(key)  # the hot path: no lock once the channel exists
        if opened is not None and not self.closed:
            return opened
        with self._lock:
            if self.closed:
                raise RuntimeError("the client is closed")
            if key not in self._channels:
                options = channel_options(key, self._methods(), self._options)
                self._channels[key] = self._opener(self.endpoint, options, self._interceptors)
            return self._channels[key]

    def take_all(self) -> list[C]:
        """Mark the pool closed and hand over its channels for closing."""
        with self._lock:
            self.closed = True
            channels = list(self._channels.values())
            self._channels.clear()
            return channels


# Multicallables per channel and method path, built once like the generated stubs do:
# building one per call cost about 20 microseconds each time.
_MULTICALLABLES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _multicallable(channel: Any, method: Method[Any, Any]) -> Any:  # noqa: ANN401
    cache = _MULTICALLABLES.get(channel)
    if cache is None:
        cache = _MULTICALLABLES.setdefault(channel, {})
    found = cache.get(method.path)
    if found is None:
        if method.client_streaming:
            kind = channel.stream_stream if method.streaming else channel.stream_unary
        else:
            kind = channel.unary_stream if method.streaming else channel.unary_unary
        found = cache[method.path] = kind(
            method.path,
            request_serializer=method.request_type.SerializeToString,
            response_deserializer=method.response_type.FromString,
            _registered_method=True,
        )
    return found


def _fail(error: Any, method: Method[Any, Any], target: str) -> errors.APIError:  # noqa: ANN401
    return errors.from_rpc_error(error, method=method.path, target=target)


Metadata = Sequence[tuple[str, str]]


def unary(
    channel: Any,  # noqa: ANN401
    method: Method[Any, Any],
    request: Any,  # noqa: ANN401
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> object:
    """One blocking unary RPC; failures raise the matching textgen.errors class."""
    try:
        response: object = _multicallable(channel, method)(
            request, timeout=timeout, metadata=tuple(metadata) or None
        )
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None
    return response


def stream(
    channel: Any,  # noqa: ANN401
    method: Method[Any, Any],
    request: Any,  # noqa: ANN401
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> Iterator[object]:
    """A blocking server stream; cancelled when the iterator is closed early."""
    responses = _multicallable(channel, method)(
        request, timeout=timeout, metadata=tuple(metadata) or None
    )
    try:
        yield from responses
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None
    finally:
        responses.cancel()


async def aio_unary(
    channel: Any,  # noqa: ANN401
    method: Method[Any, Any],
    request: Any,  # noqa: ANN401
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> object:
    """One asyncio unary RPC; failures raise the matching textgen.errors class."""
    try:
        response: object = await _multicallable(channel, method)(
            request, timeout=timeout, metadata=tuple(metadata) or None
        )
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None
    return response


async def aio_stream(
    channel: Any,  # noqa: ANN401
    method: Method[Any, Any],
    request: Any,  # noqa: ANN401
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> AsyncIterator[object]:
    """An asyncio server stream; cancelled when the iterator is closed early."""
    responses = _multicallable(channel, method)(
        request, timeout=timeout, metadata=tuple(metadata) or None
    )
    try:
        async for response in responses:
            yield response
    except grpc.RpcError as error:
        raise _fail(error, method, target) from None
    finally:
        responses.cancel()


def _watched(requests: Iterable[Any], failures: list[Exception]) -> Iterator[Any]:
    # The caller's requests; an exception they raise is kept, since grpc only cancels.
    try:
        yield from requests
    except Exception as failure:
        failures.append(failure)
        raise


def upload(
    channel: Any,  # noqa: ANN401
    method: Method[Any, Any],
    requests: Iterable[Any],
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> object:
    """One blocking client-streaming RPC; an exception raised by `requests` is re-raised."""
    failures: list[Exception] = []
    try:
        response: object = _multicallable(channel, method)(
            _watched(requests, failures), timeout=timeout, metadata=tuple(metadata) or None
        )
    except grpc.RpcError as error:
        if failures:
            raise failures[0] from None
        raise _fail(error, method, target) from None
    return response


async def aio_upload(
    channel: Any,  # noqa: ANN401
    method: Method[Any, Any],
    requests: Iterable[Any],
    *,
    timeout: float,
    metadata: Metadata,
    target: str,
) -> object:
    """One asyncio client-streaming RPC; an exception raised by `requests` is re-raised."""
    failures: list[Exception] = []
    try:
        response: object = await _multicallable(channel, method)(
            _watched(requests, failures), timeout=timeout, metadata=tuple(metadata) or None
        )
    except (grpc.RpcError, asyncio.CancelledError) as error:
        if failures:  # grpc.aio cancelled the call because the requests raised
            raise failures[0] from None
        if isinstance(error, asyncio.CancelledError):
            raise
        raise _fail(error, method, target) from None
    return response
