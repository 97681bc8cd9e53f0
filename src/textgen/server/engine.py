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

This module holds the protocol and the generation types. The tuning types live in
`textgen.server.engine_tuning` and the base classes in `textgen.server.engine_base`; both are
importable from here too, loaded on first use (a server that never tunes, or serves the fake
engine, does not load them).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import Field, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol, TypeAlias

from textgen.v1 import citation_pb2, content_pb2, generation_pb2, model_pb2, safety_pb2

if TYPE_CHECKING:
    from textgen.server.engine_base import (
        DEFAULT_WORKERS,
        BaseEngine,
        BlockingEngine,
        negligible,
        unsupported,
    )
    from textgen.server.engine_tuning import (
        TuningEvent,
        TuningParams,
        TuningProgress,
        TuningResult,
    )

__all__ = [
    "DEFAULT_WORKERS",
    "BaseEngine",
    "BlockingEngine",
    "Engine",
    "FinishReason",
    "GeneratedCandidate",
    "GenerationInput",
    "GenerationOutput",
    "HarmCategory",
    "HarmProbability",
    "HarmRating",
    "RatingStream",
    "SamplingParams",
    "TuningEvent",
    "TuningParams",
    "TuningProgress",
    "TuningResult",
    "negligible",
    "unsupported",
]

FinishReason: TypeAlias = generation_pb2.Candidate.FinishReason.ValueType
HarmCategory: TypeAlias = safety_pb2.HarmCategory.ValueType
HarmProbability: TypeAlias = safety_pb2.SafetyRating.HarmProbability.ValueType


class HarmRating(NamedTuple):
    """How likely a text is to do harm of one category, as an engine rates it.

    A plain value, not a SafetyRating message: the servicer compares `probability` with the
    request's threshold for `category` and writes the response's SafetyRating messages (with
    `blocked` set) itself. Ratings are immutable, so an engine may hand the same ones out
    again (the fake engine does, for text that holds no marker).
    """

    category: HarmCategory
    probability: HarmProbability


class _Data:  # noqa: PLW1641  (unhashable unless frozen, as a dataclass with eq is)
    """What @dataclass would write for the classes below, written once instead of per class.

    The data types are dataclasses (fields(), replace() and asdict() work on them) whose
    __init__ is written by hand and whose __repr__ and __eq__ come from here: generating them
    per class takes most of the time that importing this module would take.
    """

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__dataclass_fields__)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()


class _NewList:
    """The default of a list field: each instance gets a new list, as with
    field(default_factory=list); shown in signatures as @dataclass shows it."""

    def __repr__(self) -> str:
        return "<factory>"


_NEW_LIST: Any = _NewList()


class _FrozenData(_Data):
    """_Data for frozen dataclasses, which are hashable by their fields' values."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._values())


@dataclass(frozen=True, init=False, repr=False, eq=False)
class SamplingParams(_FrozenData):
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
    # None: no log probabilities asked for; otherwise each candidate reports its tokens' log
    # probabilities with this many top alternatives per token (0 to 20).
    logprobs: int | None = None
    # Penalties on tokens the output already holds: once present (presence_penalty), and per
    # occurrence (frequency_penalty); each from -2.0 up to 2.0, 0.0 for none.
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # (token, bias) pairs sorted by token, each bias from -100 to 100 added to that token's
    # score; a token is its text or its vocabulary id in decimal (the request's keys as sent);
    # empty for none. A tuple, so the params stay hashable: dict() it to look up.
    logit_bias: tuple[tuple[str, float], ...] = ()
    # Reasoning before the answer (GenerationConfig.thinking_config): at most thinking_budget
    # tokens of it (None: as much as the model likes, 0: none), returned as thought parts
    # when include_thoughts is set.
    thinking_budget: int | None = None
    include_thoughts: bool = False

    def __init__(  # noqa: PLR0917  (positional, as the generated __init__ would be)
        self,
        temperature: float,
        top_p: float,
        top_k: int | None,
        candidate_count: int,
        max_output_tokens: int,
        stop_sequences: tuple[str, ...] = (),
        seed: int | None = None,
        response_mime_type: str = "text/plain",
        response_schema: dict[str, Any] | None = None,
        logprobs: int | None = None,
        presence_penalty: float = 0.0,
        frequency_penalty: float = 0.0,
        logit_bias: tuple[tuple[str, float], ...] = (),
        thinking_budget: int | None = None,
        include_thoughts: bool = False,
    ) -> None:
        # One write of the whole __dict__ (the class is frozen): half the cost of ten.
        object.__setattr__(
            self,
            "__dict__",
            {
                "temperature": temperature,
                "top_p": top_p,
                "top_k": top_k,
                "candidate_count": candidate_count,
                "max_output_tokens": max_output_tokens,
                "stop_sequences": stop_sequences,
                "seed": seed,
                "response_mime_type": response_mime_type,
                "response_schema": response_schema,
                "logprobs": logprobs,
                "presence_penalty": presence_penalty,
                "frequency_penalty": frequency_penalty,
                "logit_bias": logit_bias,
                "thinking_budget": thinking_budget,
                "include_thoughts": include_thoughts,
            },
        )


@dataclass(frozen=True, init=False, repr=False, eq=False)
class GenerationInput(_FrozenData):
    """One validated generation request, in the engine's terms."""

    model: model_pb2.Model
    contents: Sequence[content_pb2.Content]
    params: SamplingParams
    # What Engine.tune produced for a tuned model; None for a base model.
    adapter: object | None = None
    system_instruction: content_pb2.Content | None = None
    tools: Sequence[content_pb2.Tool] = ()
    tool_config: content_pb2.ToolConfig | None = None

    def __init__(  # noqa: PLR0917  (positional, as the generated __init__ would be)
        self,
        model: model_pb2.Model,
        contents: Sequence[content_pb2.Content],
        params: SamplingParams,
        adapter: object | None = None,
        system_instruction: content_pb2.Content | None = None,
        tools: Sequence[content_pb2.Tool] = (),
        tool_config: content_pb2.ToolConfig | None = None,
    ) -> None:
        object.__setattr__(
            self,
            "__dict__",
            {
                "model": model,
                "contents": contents,
                "params": params,
                "adapter": adapter,
                "system_instruction": system_instruction,
                "tools": tools,
                "tool_config": tool_config,
            },
        )

    def prompt_text(self) -> str:
        """The text of the last turn, the one the model answers."""
        if not self.contents:
            return ""
        parts = self.contents[-1].parts
        if len(parts) == 1:  # most turns: no join to make
            only = parts[0]
            return only.text if only.HasField("text") else ""
        return "".join([part.text for part in parts if part.HasField("text")])


@dataclass(init=False, repr=False, eq=False)
class GeneratedCandidate(_Data):
    """One candidate answer, before safety thresholds are applied by the servicer.

    `safety_ratings` are optional: an engine that rates as it generates fills them, and the
    servicer judges those when they cover every category the request screens. Otherwise
    (none given, or a category missing) the servicer calls `rate()` on the candidate's text.
    """

    parts: list[content_pb2.Part]
    finish_reason: FinishReason = generation_pb2.Candidate.STOP
    safety_ratings: Sequence[HarmRating] = ()
    token_count: int = 0
    # Set when SamplingParams.logprobs asked for them: the mean log probability of the
    # candidate's tokens, and each token's log probability with its top alternatives.
    avg_logprobs: float | None = None
    logprobs_result: generation_pb2.LogprobsResult | None = None
    # Where spans of the answer come from (offsets in characters of its text), when the
    # engine knows; a stream sets it on its final item.
    citation_metadata: citation_pb2.CitationMetadata | None = None
    # Tokens spent reasoning before the answer, not counted in token_count (the thought
    # parts, when returned, come first in `parts`).
    thoughts_token_count: int = 0

    def __init__(  # noqa: PLR0917  (positional, as the generated __init__ would be)
        self,
        parts: list[content_pb2.Part],
        finish_reason: FinishReason = generation_pb2.Candidate.STOP,
        safety_ratings: Sequence[HarmRating] = (),
        token_count: int = 0,
        avg_logprobs: float | None = None,
        logprobs_result: generation_pb2.LogprobsResult | None = None,
        citation_metadata: citation_pb2.CitationMetadata | None = None,
        thoughts_token_count: int = 0,
    ) -> None:
        self.parts = parts
        self.finish_reason = finish_reason
        self.safety_ratings = safety_ratings
        self.token_count = token_count
        self.avg_logprobs = avg_logprobs
        self.logprobs_result = logprobs_result
        self.citation_metadata = citation_metadata
        self.thoughts_token_count = thoughts_token_count

    def text(self) -> str:
        """The concatenated text parts."""
        parts = self.parts
        if len(parts) == 1:  # most candidates: no join to make
            only = parts[0]
            return only.text if only.HasField("text") else ""
        return "".join([part.text for part in parts if part.HasField("text")])


@dataclass(init=False, repr=False, eq=False)
class GenerationOutput(_Data):
    """The engine's answer: candidates in order plus prompt accounting."""

    candidates: list[GeneratedCandidate]
    prompt_token_count: int = 0

    def __init__(self, candidates: list[GeneratedCandidate], prompt_token_count: int = 0) -> None:
        self.candidates = candidates
        self.prompt_token_count = prompt_token_count


@dataclass(init=False, repr=False, eq=False)
class RatingStream(_Data):
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

    def __init__(self, earlier: list[str] = _NEW_LIST, memo: object = None) -> None:
        self.earlier = [] if earlier is _NEW_LIST else earlier
        self.memo = memo

    def so_far(self, piece: str) -> str:
        """The whole text so far: the earlier pieces, then `piece`."""
        return "".join([*self.earlier, piece])


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
    ) -> Sequence[HarmRating]:
        """One rating per category for the text, in the order of `categories`; the servicer
        decides which of them block.

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


# The names defined beside this module, and where; each is imported on first use.
_ELSEWHERE = {
    "DEFAULT_WORKERS": "textgen.server.engine_base",
    "BaseEngine": "textgen.server.engine_base",
    "BlockingEngine": "textgen.server.engine_base",
    "negligible": "textgen.server.engine_base",
    "unsupported": "textgen.server.engine_base",
    "TuningEvent": "textgen.server.engine_tuning",
    "TuningParams": "textgen.server.engine_tuning",
    "TuningProgress": "textgen.server.engine_tuning",
    "TuningResult": "textgen.server.engine_tuning",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401  (whatever the name is bound to)
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
