"""Response wrappers: what generate_text, generate_message, generate_content, embed_content and
count_tokens answer, each reading its proto (kept at `.raw`) and raising BlockedContentError
where everything was blocked. `textgen.types` exports them too."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from google.protobuf import json_format

from textgen.errors import BlockedContentError
from textgen.v1 import (
    content_pb2,
    generation_pb2,
    message_pb2,
    model_service_pb2,
    safety_pb2,
    text_pb2,
)


def _name(enum: Any, value: int) -> str:  # noqa: ANN401  (a protobuf enum wrapper)
    try:
        return str(enum.Name(value))
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class TextResponse:
    """The answer of generate_text: `.text` is the first candidate's output."""

    raw: model_service_pb2.GenerateTextResponse

    @property
    def candidates(self) -> list[text_pb2.TextCompletion]:
        """Every candidate that was not blocked."""
        return list(self.raw.candidates)

    @property
    def filters(self) -> list[safety_pb2.ContentFilter]:
        """Why the prompt or some candidates were blocked."""
        return list(self.raw.filters)

    @property
    def safety_feedback(self) -> list[safety_pb2.SafetyFeedback]:
        """The ratings and settings behind each block."""
        return list(self.raw.safety_feedback)

    @property
    def text(self) -> str:
        """The first candidate's text; BlockedContentError if everything was blocked."""
        if self.raw.candidates:
            return self.raw.candidates[0].output
        if self.raw.filters:
            raise blocked_by_filters(self.raw.filters, self.raw.safety_feedback, self.raw)
        return ""


def blocked_by_filters(
    filters: Sequence[safety_pb2.ContentFilter],
    feedback: Sequence[safety_pb2.SafetyFeedback],
    raw: Any,  # noqa: ANN401  (the response proto)
) -> BlockedContentError:
    """A BlockedContentError that names each filter's reason and the categories rated."""
    reasons = [_name(safety_pb2.ContentFilter.BlockedReason, f.reason) for f in filters]
    notes = [f"{r}: {f.message}" if f.message else r for r, f in zip(reasons, filters, strict=True)]
    categories = [_name(safety_pb2.HarmCategory, item.rating.category) for item in feedback]
    why = "; ".join(notes)
    if categories:
        why += f" (categories: {', '.join(categories)})"
    return BlockedContentError(f"the content was blocked: {why}", reasons=reasons, raw=raw)


@dataclass(frozen=True)
class TextChunk:
    """One message of stream_generate_text: `.text` is the text added to the first candidate."""

    raw: model_service_pb2.GenerateTextResponse

    @property
    def text(self) -> str:
        """The newly generated text ("" when this message only carries filters)."""
        return self.raw.candidates[0].output if self.raw.candidates else ""


@dataclass(frozen=True)
class MessageResponse:
    """The answer of generate_message: `.text` is the first candidate reply."""

    raw: model_service_pb2.GenerateMessageResponse

    @property
    def candidates(self) -> list[message_pb2.Message]:
        """The candidate replies."""
        return list(self.raw.candidates)

    @property
    def messages(self) -> list[message_pb2.Message]:
        """The conversation the model read."""
        return list(self.raw.messages)

    @property
    def filters(self) -> list[safety_pb2.ContentFilter]:
        """Why the prompt or some candidates were blocked."""
        return list(self.raw.filters)

    @property
    def text(self) -> str:
        """The first reply; BlockedContentError if everything was blocked."""
        if self.raw.candidates:
            return self.raw.candidates[0].content
        if self.raw.filters:
            raise blocked_by_filters(self.raw.filters, (), self.raw)
        return ""


_BLOCKING_FINISH = {
    generation_pb2.Candidate.SAFETY,
    generation_pb2.Candidate.RECITATION,
    generation_pb2.Candidate.BLOCKLIST,
    generation_pb2.Candidate.PROHIBITED_CONTENT,
    generation_pb2.Candidate.SPII,
}


@dataclass(frozen=True)
class ContentResponse:
    """The answer of generate_content (or one streamed piece of it).

    `.text` joins the first candidate's text parts, `.function_calls` lists its calls, and
    `.parsed` holds the answer read through `response_schema` when one was given.
    """

    raw: model_service_pb2.GenerateContentResponse
    parser: Callable[[str], Any] | None = None
    automatic_function_calling_history: list[content_pb2.Content] = field(default_factory=list)

    @property
    def candidates(self) -> list[generation_pb2.Candidate]:
        """Every candidate."""
        return list(self.raw.candidates)

    @property
    def prompt_feedback(self) -> model_service_pb2.GenerateContentResponse.PromptFeedback:
        """Why the prompt was blocked, when it was."""
        return self.raw.prompt_feedback

    @property
    def usage_metadata(self) -> model_service_pb2.GenerateContentResponse.UsageMetadata:
        """Token accounting."""
        return self.raw.usage_metadata

    @property
    def parts(self) -> list[content_pb2.Part]:
        """The first candidate's parts; BlockedContentError if the prompt was blocked."""
        if not self.raw.candidates:
            reason = self.raw.prompt_feedback.block_reason
            if reason:
                label = _name(
                    model_service_pb2.GenerateContentResponse.PromptFeedback.BlockReason, reason
                )
                rated = [
                    _name(safety_pb2.HarmCategory, r.category)
                    for r in self.raw.prompt_feedback.safety_ratings
                    if r.blocked
                ]
                extra = f" (categories: {', '.join(rated)})" if rated else ""
                raise BlockedContentError(
                    f"the prompt was blocked: {label}{extra}", reasons=[label], raw=self.raw
                )
            return []
        return list(self.raw.candidates[0].content.parts)

    @property
    def text(self) -> str:
        """The first candidate's answer text (thoughts left out)."""
        parts = self.parts
        texts = [p.text for p in parts if p.WhichOneof("data") == "text" and not p.thought]
        candidate = self.raw.candidates[0] if self.raw.candidates else None
        if not texts and candidate is not None and candidate.finish_reason in _BLOCKING_FINISH:
            label = _name(generation_pb2.Candidate.FinishReason, candidate.finish_reason)
            detail = f": {candidate.finish_message}" if candidate.finish_message else ""
            raise BlockedContentError(
                f"the answer was blocked: {label}{detail}", reasons=[label], raw=self.raw
            )
        return "".join(texts)

    @property
    def function_calls(self) -> list[content_pb2.FunctionCall]:
        """The function calls of the first candidate, in order."""
        return [p.function_call for p in self.parts if p.WhichOneof("data") == "function_call"]

    @property
    def parsed(self) -> Any:  # noqa: ANN401  (the caller's schema type)
        """The answer parsed through response_schema (dataclass, pydantic model, dict, ...)."""
        if self.parser is None:
            return None
        text = self.text
        return self.parser(text) if text else None

    def to_dict(self) -> dict[str, Any]:
        """The raw response as a JSON-ready dict."""
        return json_format.MessageToDict(self.raw)


class EmbedContentResponse(Sequence[float]):
    """The answer of embed_content: `.embeddings[i].values` is the vector of input i.

    For code that embedded one input when embed_content returned a bare vector, an answer
    to a single input also reads as that vector (len, indexing, iteration, ==); an answer to
    several inputs raises TypeError there and must be read through `.embeddings`.
    """

    def __init__(self, embeddings: Sequence[generation_pb2.ContentEmbedding]) -> None:
        self.embeddings: list[generation_pb2.ContentEmbedding] = list(embeddings)

    @property
    def vectors(self) -> list[list[float]]:
        """Every vector, in input order, as plain lists."""
        return [list(e.values) for e in self.embeddings]

    def _only(self) -> Sequence[float]:
        if len(self.embeddings) != 1:
            raise TypeError(
                f"this answer holds {len(self.embeddings)} embeddings, one per input; "
                "read response.embeddings[i].values (or response.vectors)"
            )
        return self.embeddings[0].values

    @overload
    def __getitem__(self, index: int) -> float: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[float]: ...
    def __getitem__(self, index: int | slice) -> float | Sequence[float]:
        return self._only()[index]

    def __len__(self) -> int:
        return len(self._only())

    def __iter__(self) -> Iterator[float]:
        return iter(self._only())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EmbedContentResponse):
            return self.vectors == other.vectors
        if isinstance(other, Sequence) and len(self.embeddings) == 1:
            return list(self._only()) == list(other)
        return NotImplemented

    # Unhashable, like the list it stands in for.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{len(e.values)} values" for e in self.embeddings)
        return f"EmbedContentResponse(embeddings=[{shapes}])"


class TokenCount(int):
    """The answer of count_tokens: the total as an int (as before), with the other counts.

    `.total_tokens` is the int itself; `.cached_content_token_count`, `.prompt_tokens_details`
    and `.cache_tokens_details` come from the CountTokensResponse at `.raw`.
    """

    raw: model_service_pb2.CountTokensResponse

    def __new__(cls, raw: model_service_pb2.CountTokensResponse) -> TokenCount:
        made = super().__new__(cls, raw.total_tokens)
        made.raw = raw
        return made

    def __getnewargs__(self) -> tuple[model_service_pb2.CountTokensResponse]:  # type: ignore[override]
        return (self.raw,)

    @property
    def total_tokens(self) -> int:
        """Tokens in the whole request."""
        return int(self)

    @property
    def cached_content_token_count(self) -> int:
        """Tokens of the request that came from cached content."""
        return self.raw.cached_content_token_count

    @property
    def prompt_tokens_details(self) -> list[content_pb2.ModalityTokenCount]:
        """The prompt's tokens by modality."""
        return list(self.raw.prompt_tokens_details)

    @property
    def cache_tokens_details(self) -> list[content_pb2.ModalityTokenCount]:
        """The cached content's tokens by modality."""
        return list(self.raw.cache_tokens_details)

    def __str__(self) -> str:
        return int.__repr__(self)

    def __repr__(self) -> str:
        return (
            f"TokenCount(total_tokens={int(self)}, "
            f"cached_content_token_count={self.cached_content_token_count})"
        )
