"""The Engine protocol: the one seam where a model plugs into the servicers.

The servicers own everything around the model: validation, defaults from the model catalog,
safety thresholds, resources and operations. An engine only rates, counts, generates, embeds
and tunes. Requests reach it already validated, with every default filled in.

Nothing an engine does may hold up the event loop the server runs on. Every method that does
model work is therefore a coroutine (or an async iterator), and:

- an engine whose model code is asynchronous (a client of a model server, say) implements
  those coroutines directly; `BaseEngine` gives it defaults for what it may leave out;
- an engine whose model code blocks (a model in this process) subclasses `BlockingEngine`
  and writes plain methods (`generate_sync`, `count_tokens_sync`, ...); each one runs in a
  bounded pool of worker threads while the loop goes on serving other calls.

`models()` and `embedding_dimension()` stay plain methods: they describe the catalog and must
answer from memory. Tuning belongs to the engine: `tune()` runs the whole training loop and
reports each finished step as a `TuningProgress`, then the adapter as a `TuningResult`; the
server records the progress in the operation's metadata as it arrives.

An engine in a few lines, for a model that answers by echoing the prompt::

    class EchoEngine(BlockingEngine):
        def models(self) -> Sequence[model_pb2.Model]:
            return [model_pb2.Model(name="models/echo-001", input_token_limit=1024, ...)]

        def count_tokens_sync(self, model: model_pb2.Model, text: str) -> int:
            return len(text.split())

        def generate_sync(self, request: GenerationInput) -> GenerationOutput:
            text = request.prompt_text()
            return GenerationOutput([GeneratedCandidate([content_pb2.Part(text=text)])])

`textgen serve --engine module:factory` serves such an engine without editing any code.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, TypeVar

from google.rpc import code_pb2

from textgen.server.rpc.errors import ServiceError, make_error
from textgen.v1 import content_pb2, generation_pb2, model_pb2, safety_pb2

FinishReason: TypeAlias = generation_pb2.Candidate.FinishReason.ValueType
HarmCategory: TypeAlias = safety_pb2.HarmCategory.ValueType
# How many model calls a BlockingEngine runs at once unless told otherwise.
DEFAULT_WORKERS = 4
T = TypeVar("T")


@dataclass(frozen=True)
class SamplingParams:
    """Sampling settings with every default resolved from the model."""

    temperature: float
    top_p: float
    top_k: int | None
    candidate_count: int
    max_output_tokens: int
    stop_sequences: tuple[str, ...] = ()
    seed: int | None = None
    # "text/plain" or "application/json"; with JSON, response_schema (a JSON Schema object,
    # or None for any JSON object) is what every candidate's text must conform to.
    response_mime_type: str = "text/plain"
    response_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class GenerationInput:
    """One validated generation request, in the engine's terms."""

    model: model_pb2.Model
    contents: Sequence[content_pb2.Content]
    params: SamplingParams
    # What Engine.tune produced for a tuned model; None for a base model.
    adapter: object | None = None
    system_instruction: content_pb2.Content | None = None
    tools: Sequence[content_pb2.Tool] = ()
    tool_config: content_pb2.ToolConfig | None = None

    def prompt_text(self) -> str:
        """The text of the last turn, the one the model answers."""
        if not self.contents:
            return ""
        return "".join(part.text for part in self.contents[-1].parts if part.HasField("text"))


@dataclass
class GeneratedCandidate:
    """One candidate answer, before safety thresholds are applied by the servicer."""

    parts: list[content_pb2.Part]
    finish_reason: FinishReason = generation_pb2.Candidate.STOP
    safety_ratings: list[safety_pb2.SafetyRating] = field(default_factory=list)
    token_count: int = 0

    def text(self) -> str:
        """The concatenated text parts."""
        return "".join(part.text for part in self.parts if part.HasField("text"))


@dataclass
class GenerationOutput:
    """The engine's answer: candidates in order plus prompt accounting."""

    candidates: list[GeneratedCandidate]
    prompt_token_count: int = 0


@dataclass
class RatingStream:
    """One streamed candidate's text, which the servicer rates a piece at a time.

    The servicer makes one per streamed candidate and passes it to `rate()` with each new
    piece of that candidate's text, in order, then appends the piece to `earlier`. The
    ratings asked for are those of all the text so far. An engine that can rate
    incrementally keeps what it needs in `memo` and reads only the new piece (the fake
    engine keeps its marker levels and a short tail); any other rates `so_far(piece)`,
    which costs the whole text again at every piece.
    """

    earlier: list[str] = field(default_factory=list)
    memo: object = None

    def so_far(self, piece: str) -> str:
        """The whole text so far: the earlier pieces, then `piece`."""
        return "".join([*self.earlier, piece])


@dataclass(frozen=True)
class TuningParams:
    """Tuning hyperparameters with every default resolved by the servicer."""

    epoch_count: int
    batch_size: int
    learning_rate: float


@dataclass(frozen=True)
class TuningProgress:
    """One finished tuning step: its number and epoch (both from 1) and its mean loss."""

    step: int
    epoch: int
    mean_loss: float


@dataclass(frozen=True)
class TuningResult:
    """The end of a tuning run: what GenerationInput.adapter carries for the tuned model."""

    adapter: object


TuningEvent: TypeAlias = "TuningProgress | TuningResult"


class Engine(Protocol):
    """What a model must provide to be served."""

    def models(self) -> Sequence[model_pb2.Model]:
        """The base models this engine serves, with their limits and defaults (from memory)."""
        ...

    def embedding_dimension(self, model: model_pb2.Model) -> int:
        """The length of the vectors that embed() returns for this model (from memory)."""
        ...

    async def count_tokens(self, model: model_pb2.Model, text: str) -> int:
        """How many tokens the text takes for this model."""
        ...

    async def rate(
        self,
        model: model_pb2.Model,
        text: str,
        categories: Sequence[HarmCategory],
        *,
        stream: RatingStream | None = None,
    ) -> list[safety_pb2.SafetyRating]:
        """One rating per category for the text; `blocked` is left for the servicer to set.

        With `stream`, `text` is the newest piece of a streamed candidate and the ratings are
        those of `stream.so_far(text)` (see RatingStream).
        """
        ...

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        """Produce request.params.candidate_count candidates."""
        ...

    def stream(self, request: GenerationInput) -> AsyncIterator[GenerationOutput]:
        """Produce the same candidates as generate() as a series of deltas.

        Each item holds, per candidate index, only the parts added since the previous item.
        The final item carries each candidate's finish_reason, ratings and token_count.
        """
        ...

    async def embed(
        self,
        model: model_pb2.Model,
        texts: Sequence[str],
        *,
        task_type: int = 0,
        title: str | None = None,
        dimensionality: int | None = None,
    ) -> list[list[float]]:
        """One vector per text, in order; truncated to dimensionality when given."""
        ...

    def tune(
        self,
        base_model: model_pb2.Model,
        examples: Sequence[tuple[str, str]],
        params: TuningParams,
    ) -> AsyncIterator[TuningEvent]:
        """Tune base_model on (input, output) examples: the whole training loop.

        Yields a TuningProgress after each step, ceil(len(examples) / batch_size) steps per
        epoch, then one TuningResult. The server asks for the next item only when it is
        ready for it, and may stop asking (the job was cancelled): then the iterator is
        closed, and its `finally` blocks are the place to release what the run holds.
        """
        ...


def unsupported(what: str) -> ServiceError:
    """UNIMPLEMENTED, for a capability an engine does not have (embeddings, tuning)."""
    return make_error(code_pb2.UNIMPLEMENTED, f"This engine does not support {what}")


def negligible(categories: Sequence[HarmCategory]) -> list[safety_pb2.SafetyRating]:
    """A NEGLIGIBLE rating for each category: what an engine without a safety model says."""
    return [
        safety_pb2.SafetyRating(category=category, probability=safety_pb2.SafetyRating.NEGLIGIBLE)
        for category in categories
    ]


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
    ) -> list[safety_pb2.SafetyRating]:
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
    ) -> list[safety_pb2.SafetyRating]:
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
    ) -> list[safety_pb2.SafetyRating]:
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
