"""Starting points for real engines: BaseEngine for asynchronous model code, BlockingEngine
for model code that blocks (each call in a bounded pool of worker threads).

Both are importable from textgen.server.engine as well; see that module for the protocol
they implement and an example engine.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from google.rpc import code_pb2

from textgen.server.engine import (
    GenerationInput,
    GenerationOutput,
    HarmCategory,
    HarmRating,
    RatingStream,
)
from textgen.server.engine_tuning import TuningEvent, TuningParams
from textgen.server.rpc.errors import ServiceError, make_error
from textgen.v1 import model_pb2, safety_pb2

# How many model calls a BlockingEngine runs at once unless told otherwise.
DEFAULT_WORKERS = 4
_NEGLIGIBLE = safety_pb2.SafetyRating.NEGLIGIBLE
T = TypeVar("T")


def unsupported(what: str) -> ServiceError:
    """UNIMPLEMENTED, for a capability an engine does not have (embeddings, tuning)."""
    return make_error(code_pb2.UNIMPLEMENTED, f"This engine does not support {what}")


def negligible(categories: Sequence[HarmCategory]) -> tuple[HarmRating, ...]:
    """A NEGLIGIBLE rating for each category: what an engine without a safety model says."""
    return tuple(HarmRating(category, _NEGLIGIBLE) for category in categories)


class BaseEngine:
    """A starting point for a real engine whose model code is asynchronous.

    A subclass must supply `models()`, `count_tokens()` and `generate()`. Everything else has
    a default: `rate()` rates every category NEGLIGIBLE (so no threshold ever blocks),
    `stream()` sends generate()'s whole answer as one item, and `embedding_dimension()`,
    `embed()` and `tune()` raise UNIMPLEMENTED (the caller, or the tuning operation, sees
    that code). It is not the fake: textgen.testing.FakeEngine is a complete engine for tests.
    """

    def models(self) -> Sequence[model_pb2.Model]:
        """The served models; a subclass must supply them."""
        raise NotImplementedError(f"{type(self).__name__} must define models()")

    def embedding_dimension(self, model: model_pb2.Model) -> int:
        """UNIMPLEMENTED unless a subclass embeds."""
        raise unsupported("embeddings")

    async def count_tokens(self, model: model_pb2.Model, text: str) -> int:
        """A subclass must count with its model's tokenizer."""
        raise NotImplementedError(f"{type(self).__name__} must define count_tokens()")

    async def rate(
        self,
        model: model_pb2.Model,
        text: str,
        categories: Sequence[HarmCategory],
        *,
        stream: RatingStream | None = None,
    ) -> Sequence[HarmRating]:
        """NEGLIGIBLE for every category: an engine without a safety model never blocks."""
        return negligible(categories)

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        """A subclass must generate."""
        raise NotImplementedError(f"{type(self).__name__} must define generate()")

    async def stream(self, request: GenerationInput) -> AsyncIterator[GenerationOutput]:
        """generate()'s answer as a single item."""
        yield await self.generate(request)

    async def embed(
        self,
        model: model_pb2.Model,
        texts: Sequence[str],
        *,
        task_type: int = 0,
        title: str | None = None,
        dimensionality: int | None = None,
    ) -> list[list[float]]:
        """UNIMPLEMENTED unless a subclass embeds."""
        raise unsupported("embeddings")

    async def tune(
        self,
        base_model: model_pb2.Model,
        examples: Sequence[tuple[str, str]],
        params: TuningParams,
    ) -> AsyncIterator[TuningEvent]:
        """UNIMPLEMENTED unless a subclass tunes."""
        raise unsupported("tuning")
        yield  # pragma: no cover  (makes this an async generator, like an override)


class BlockingEngine(BaseEngine):
    """A base for an engine whose model code blocks: its `*_sync` hooks run in worker threads.

    A subclass supplies `models()`, `count_tokens_sync()` and `generate_sync()`, and may
    supply `rate_sync()`, `stream_sync()` (an iterator of deltas), `embed_sync()` and
    `tune_sync()` (an iterator of TuningEvent: the training loop, one step per item). Each
    hook runs in a pool of `workers` threads, so at most that many model calls run at once
    and the event loop never waits for one; pass `workers=1` for a model that must not be
    called from two threads at once. `close()` ends the pool.
    """

    def __init__(self, *, workers: int = DEFAULT_WORKERS) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="textgen-engine")

    async def run_blocking(self, function: Callable[..., T], *args: Any) -> T:  # noqa: ANN401
        """`function(*args)` in a worker thread, with the caller's context variables."""
        call = functools.partial(contextvars.copy_context().run, function, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def iterate_blocking(self, make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """The items of the iterator `make()` returns, each produced in a worker thread."""
        items = await self.run_blocking(make)
        while found := await self.run_blocking(_advance, items):
            yield found[0]

    def close(self) -> None:
        """Stop the worker threads once their calls finish; no new calls after this."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- the Engine protocol, each call in the pool -------------------------------------------

    async def count_tokens(self, model: model_pb2.Model, text: str) -> int:
        """count_tokens_sync() in a worker thread."""
        return await self.run_blocking(self.count_tokens_sync, model, text)

    async def rate(
        self,
        model: model_pb2.Model,
        text: str,
        categories: Sequence[HarmCategory],
        *,
        stream: RatingStream | None = None,
    ) -> Sequence[HarmRating]:
        """rate_sync() in a worker thread, on the whole text so far."""
        whole = text if stream is None else stream.so_far(text)
        return await self.run_blocking(self.rate_sync, model, whole, categories)

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        """generate_sync() in a worker thread."""
        return await self.run_blocking(self.generate_sync, request)

    async def stream(self, request: GenerationInput) -> AsyncIterator[GenerationOutput]:
        """stream_sync()'s items, each produced in a worker thread."""
        async for item in self.iterate_blocking(lambda: iter(self.stream_sync(request))):
            yield item

    async def embed(
        self,
        model: model_pb2.Model,
        texts: Sequence[str],
        *,
        task_type: int = 0,
        title: str | None = None,
        dimensionality: int | None = None,
    ) -> list[list[float]]:
        """embed_sync() in a worker thread."""
        embed = functools.partial(
            self.embed_sync, task_type=task_type, title=title, dimensionality=dimensionality
        )
        return await self.run_blocking(embed, model, texts)

    async def tune(
        self,
        base_model: model_pb2.Model,
        examples: Sequence[tuple[str, str]],
        params: TuningParams,
    ) -> AsyncIterator[TuningEvent]:
        """tune_sync()'s items, each step run in a worker thread."""
        run = self.iterate_blocking(lambda: iter(self.tune_sync(base_model, examples, params)))
        async for event in run:
            yield event

    # --- the hooks a subclass writes ------------------------------------------------------------

    def count_tokens_sync(self, model: model_pb2.Model, text: str) -> int:
        """How many tokens the text takes; a subclass must supply it."""
        raise NotImplementedError(f"{type(self).__name__} must define count_tokens_sync()")

    def rate_sync(
        self, model: model_pb2.Model, text: str, categories: Sequence[HarmCategory]
    ) -> Sequence[HarmRating]:
        """NEGLIGIBLE for every category unless a subclass rates."""
        return negligible(categories)

    def generate_sync(self, request: GenerationInput) -> GenerationOutput:
        """The candidates; a subclass must supply them."""
        raise NotImplementedError(f"{type(self).__name__} must define generate_sync()")

    def stream_sync(self, request: GenerationInput) -> Iterator[GenerationOutput]:
        """generate_sync()'s answer as a single item unless a subclass streams."""
        yield self.generate_sync(request)

    def embed_sync(
        self,
        model: model_pb2.Model,
        texts: Sequence[str],
        *,
        task_type: int = 0,
        title: str | None = None,
        dimensionality: int | None = None,
    ) -> list[list[float]]:
        """UNIMPLEMENTED unless a subclass embeds."""
        raise unsupported("embeddings")

    def tune_sync(
        self,
        base_model: model_pb2.Model,
        examples: Sequence[tuple[str, str]],
        params: TuningParams,
    ) -> Iterator[TuningEvent]:
        """UNIMPLEMENTED unless a subclass tunes."""
        raise unsupported("tuning")


def _advance(items: Iterator[T]) -> list[T]:
    # The next item as a one-item list, or [] at the end (StopIteration cannot cross a
    # thread pool's future).
    for item in items:
        return [item]
    return []
