"""`Client` and `AsyncClient`: one channel, call options, and the resources as attributes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio

from textgen import _calls, _routes, _transport
from textgen._shells import AsyncRunner, SyncRunner
from textgen._transport import Opener
from textgen.resources import (
    AsyncBatches,
    AsyncChats,
    AsyncDatasets,
    AsyncModels,
    AsyncOperations,
    AsyncTunedModels,
    Batches,
    Chats,
    Datasets,
    Models,
    Operations,
    TunedModels,
)
from textgen.retry import RetryPolicy

__all__ = ["AsyncClient", "Client"]

S = TypeVar("S", SyncRunner, AsyncRunner)
Ch = TypeVar("Ch")  # the runner's channel
IC = TypeVar("IC")  # an interceptor of that channel
C = TypeVar("C", bound="_BaseClient[Any, Any, Any]")
DEFAULT_TIMEOUT = 60.0
DEFAULT_API = "textgen"


def _retry_policy(
    retry: RetryPolicy | None, max_retries: int | None, current: RetryPolicy
) -> RetryPolicy:
    """`retry`, else `current`, with the `max_retries` shorthand applied to it."""
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise TypeError(f"retry must be a textgen.RetryPolicy, not {type(retry).__name__}")
    return (current if retry is None else retry).with_max_retries(max_retries)


def _call_options(
    api_key: str | None,
    metadata: Sequence[tuple[str, str]],
    timeout: float,
    retry: RetryPolicy,
    routing: _routes.Routing,
    *,
    iam_token: str | None,
) -> _calls.CallOptions:
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout}")
    if iam_token is not None:
        if api_key is not None:
            raise ValueError("pass api_key or iam_token, not both")
        credential = routing.token_metadata(iam_token)
    else:
        key = api_key if api_key is not None else os.environ.get(_transport.API_KEY_ENV)
        credential = routing.key_metadata(key) if key else ()
    sent = tuple(metadata) + credential
    return _calls.CallOptions(timeout=timeout, retry=retry, metadata=sent)


class _BaseClient(Generic[S, Ch, IC]):
    """What both clients share: settings, the channel pool, with_options."""

    _runner: S

    def __init__(
        self,
        target: str | None = None,
        *,
        api_key: str | None = None,
        credentials: _transport.Credentials = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        metadata: Sequence[tuple[str, str]] = (),
        interceptors: Sequence[IC] = (),
        options: _transport.ChannelOptions = (),
        api: str = DEFAULT_API,
        folder_id: str | None = None,
        iam_token: str | None = None,
    ) -> None:
        routing = _routes.routing(api, folder=folder_id)
        policy = _retry_policy(retry, max_retries, RetryPolicy())
        call_options = _call_options(
            api_key, metadata, timeout, policy, routing, iam_token=iam_token
        )
        pool = _transport.ChannelPool(
            _transport.resolve_endpoint(target, credentials),
            self._opener(),
            options=options,
            interceptors=interceptors,
            methods=routing.grpc_retried(_calls.grpc_retried_methods),
        )
        self._attach(self._make_runner(pool, call_options, routing))

    def _opener(self) -> Opener[Ch, IC]:
        raise NotImplementedError

    def _make_runner(
        self,
        pool: _transport.ChannelPool[Ch, IC],
        options: _calls.CallOptions,
        routing: _routes.Routing,
    ) -> S:
        raise NotImplementedError

    def _attach(self, runner: S) -> None:
        raise NotImplementedError

    @property
    def target(self) -> str:
        """The address this client connects to."""
        return self._runner.target

    @property
    def api(self) -> str:
        """The API flavour this client speaks: "textgen", "generativelanguage" or "yandex"."""
        return self._runner.routing.name

    @property
    def folder_id(self) -> str | None:
        """The Yandex folder that model URIs and `x-folder-id` name (api="yandex" only)."""
        return self._runner.routing.folder

    @property
    def timeout(self) -> float:
        """The default deadline of each call, retries included, in seconds."""
        return self._runner.options.timeout

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of every idempotent call: its budget and backoff."""
        return self._runner.options.retry

    @property
    def max_retries(self) -> int:
        """How many times a failed idempotent call may be resent (`retry.max_retries`)."""
        return self._runner.options.retry.max_retries

    def with_options(
        self: C,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
    ) -> C:
        """A client sharing this one's channel, with other call options.

        `client.with_options(timeout=5).models.get("x")`. `retry` replaces the policy;
        `max_retries` changes the budget of the given (or current) policy. Close the original
        client only.
        """
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        policy = _retry_policy(retry, max_retries, self.retry)
        copy = object.__new__(type(self))
        copy._attach(self._runner.with_options(timeout=timeout, retry=policy))
        return copy

    def __repr__(self) -> str:
        api = "" if self.api == DEFAULT_API else f", api={self.api!r}"
        return f"{type(self).__name__}(target={self.target!r}{api}, timeout={self.timeout:g})"


class Client(_BaseClient[SyncRunner, grpc.Channel, _transport.SyncInterceptor]):
    """A blocking client. Use it as a context manager, or call close().

    target: "host:port", else $TEXTGEN_ENDPOINT, else the emulator in $TEXTGEN_EMULATOR_HOST.
    api_key: sent on every call (default $TEXTGEN_API_KEY), as `x-api-key`, or as the
      chosen API's own clients send it (`x-goog-api-key` for Generative Language,
      `authorization: Api-Key <key>` for Yandex).
    iam_token: instead of api_key, a bearer token (a Yandex IAM token), sent as
      `authorization: Bearer <token>`.
    credentials: grpc.ChannelCredentials for TLS; by default TLS with the system roots, or
      plaintext for loopback targets and the emulator; "insecure" forces plaintext there.
    timeout: seconds per call, retries included.
    retry: a textgen.RetryPolicy, the one budget and backoff of idempotent calls (default
      RetryPolicy(): 2 resends after UNAVAILABLE, or after RESOURCE_EXHAUSTED with RetryInfo).
      max_retries: shorthand that sets the budget of `retry` (or of the default policy).
    api: the API flavour to speak (a name in textgen.apis.APIS): "textgen" (textgen.v1, the
      default), "generativelanguage" (Google's v1beta service names and metadata) or
      "yandex" (Yandex foundation models: batch completions and their operations). A method
      the flavour does not offer raises errors.UnsupportedByApi before anything is sent.
    folder_id: with api="yandex", the folder: model names become gpt://<folder>/<model>/latest
      and batch calls carry `x-folder-id`.
    """

    models: Models
    chats: Chats
    operations: Operations
    tuned_models: TunedModels
    datasets: Datasets
    batches: Batches

    def _opener(self) -> Opener[grpc.Channel, _transport.SyncInterceptor]:
        return _transport.open_sync_channel

    def _make_runner(
        self,
        pool: _transport.ChannelPool[grpc.Channel, _transport.SyncInterceptor],
        options: _calls.CallOptions,
        routing: _routes.Routing,
    ) -> SyncRunner:
        return SyncRunner(pool, options, routing)

    def _attach(self, runner: SyncRunner) -> None:
        self._runner = runner
        self.models = Models(runner)
        self.chats = Chats(runner)
        self.operations = Operations(runner)
        self.tuned_models = TunedModels(runner)
        self.datasets = Datasets(runner)
        self.batches = Batches(runner)

    def close(self) -> None:
        """Close the channel; the client and its with_options copies stop working."""
        for channel in self._runner.pool.take_all():
            channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_BaseClient[AsyncRunner, grpc.aio.Channel, _transport.AsyncInterceptor]):
    """An asyncio client; same arguments as Client. The channel opens on the first call."""

    models: AsyncModels
    chats: AsyncChats
    operations: AsyncOperations
    tuned_models: AsyncTunedModels
    datasets: AsyncDatasets
    batches: AsyncBatches

    def _opener(self) -> Opener[grpc.aio.Channel, _transport.AsyncInterceptor]:
        return _transport.open_async_channel

    def _make_runner(
        self,
        pool: _transport.ChannelPool[grpc.aio.Channel, _transport.AsyncInterceptor],
        options: _calls.CallOptions,
        routing: _routes.Routing,
    ) -> AsyncRunner:
        return AsyncRunner(pool, options, routing)

    def _attach(self, runner: AsyncRunner) -> None:
        self._runner = runner
        self.models = AsyncModels(runner)
        self.chats = AsyncChats(runner)
        self.operations = AsyncOperations(runner)
        self.tuned_models = AsyncTunedModels(runner)
        self.datasets = AsyncDatasets(runner)
        self.batches = AsyncBatches(runner)

    async def close(self) -> None:
        """Close the channel; the client and its with_options copies stop working."""
        for channel in self._runner.pool.take_all():
            await channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
