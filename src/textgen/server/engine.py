"""The Engine protocol: the one seam where a model plugs into the servicers.

The servicers own everything around the model: validation, defaults from the model catalog,
safety thresholds, resources and operations. An engine only rates, counts, generates, embeds
and tunes. Requests reach it already validated, with every default filled in.

A minimal engine that echoes the prompt::

    class EchoEngine(FakeEngine):
        async def generate(self, request: GenerationInput) -> GenerationOutput:
            text = request.prompt_text()
            return GenerationOutput(
                candidates=[GeneratedCandidate(parts=[content_pb2.Part(text=text)])],
                prompt_token_count=self.count_tokens(request.model, text),
            )
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

from textgen.v1 import content_pb2, generation_pb2, model_pb2, safety_pb2

FinishReason: TypeAlias = generation_pb2.Candidate.FinishReason.ValueType


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


@dataclass(frozen=True)
class TuningParams:
    """Tuning hyperparameters with every default resolved by the servicer."""

    epoch_count: int
    batch_size: int
    learning_rate: float


class TuningRun(Protocol):
    """A tuning job in progress. The servicer calls step() once per step, then finish()."""

    def step(self, step: int, epoch: int, batch: Sequence[tuple[str, str]]) -> float:
        """Train on one batch of (input, output) pairs and return its mean loss."""
        ...

    def finish(self) -> object:
        """Return the adapter that GenerationInput.adapter carries for the tuned model."""
        ...


class Engine(Protocol):
    """What a model must provide to be served."""

    def models(self) -> Sequence[model_pb2.Model]:
        """The base models this engine serves, with their limits and defaults."""
        ...

    def embedding_dimension(self, model: model_pb2.Model) -> int:
        """The length of the vectors that embed() returns for this model."""
        ...

    def count_tokens(self, model: model_pb2.Model, text: str) -> int:
        """How many tokens the text takes for this model."""
        ...

    def rate(
        self,
        model: model_pb2.Model,
        text: str,
        categories: Sequence[safety_pb2.HarmCategory.ValueType],
    ) -> list[safety_pb2.SafetyRating]:
        """One rating per category for the text; `blocked` is left for the servicer to set."""
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
    ) -> TuningRun:
        """Start tuning base_model on (input, output) examples."""
        ...
