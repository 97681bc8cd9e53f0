"""Typed inputs (generation config) and response wrappers; the raw protos stay at `.raw`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, overload

from google.protobuf import json_format

from textgen.errors import BlockedContentError
from textgen.parts import Content, ModelContent, Part, UserContent
from textgen.v1 import (
    content_pb2,
    generation_pb2,
    message_pb2,
    model_service_pb2,
    safety_pb2,
    text_pb2,
)

__all__ = [
    "AutomaticFunctionCallingConfig",
    "Blob",
    "Content",
    "ContentResponse",
    "EmbedContentConfig",
    "EmbedContentResponse",
    "FileData",
    "FunctionCall",
    "FunctionCallingConfig",
    "FunctionDeclaration",
    "FunctionResponse",
    "GenerateContentConfig",
    "GenerateContentConfigDict",
    "MessageResponse",
    "ModelContent",
    "Part",
    "SafetySetting",
    "Schema",
    "TextChunk",
    "TextResponse",
    "ThinkingConfig",
    "TokenCount",
    "Tool",
    "ToolConfig",
    "UserContent",
]

# The contract's messages under the names google-genai gives them, so that code written
# for it (types.SafetySetting(category=..., threshold=...), types.Tool(...)) reads the same.
# Python protobuf takes enum values by name, e.g. Schema(type="OBJECT").
Blob = content_pb2.Blob
FileData = content_pb2.FileData
FunctionCall = content_pb2.FunctionCall
FunctionCallingConfig = content_pb2.FunctionCallingConfig
FunctionDeclaration = content_pb2.FunctionDeclaration
FunctionResponse = content_pb2.FunctionResponse
SafetySetting = safety_pb2.SafetySetting
Schema = content_pb2.Schema
ThinkingConfig = generation_pb2.ThinkingConfig
Tool = content_pb2.Tool
ToolConfig = content_pb2.ToolConfig


# A list of SafetySetting protos or dicts, one {category: threshold} dict, or one threshold.
SafetySettingsInput = (
    str | int | Mapping[Any, Any] | Sequence[safety_pb2.SafetySetting | Mapping[str, Any]]
)


@dataclass(frozen=True)
class AutomaticFunctionCallingConfig:
    """How the client runs Python functions the model calls.

    disable: return the function calls to the caller instead of running them.
    maximum_remote_calls: the most GenerateContent requests one call may send (default 10).
    """

    disable: bool = False
    maximum_remote_calls: int = 10


@dataclass(frozen=True)
class GenerateContentConfig:
    """Settings for generate_content; every field is optional.

    tools accepts Python callables (declared from their signatures and docstrings), Tool and
    FunctionDeclaration protos. response_schema accepts a JSON-schema dict, a Schema proto, a
    dataclass, a TypedDict, an Enum, a pydantic model or a type such as list[str]; the answer
    is then parsed into `response.parsed`. response_json_schema sends a JSON Schema dict as it
    is (GenerationConfig.response_json_schema), for schemas that Schema cannot express; the
    answer is parsed into `response.parsed` as plain JSON. safety_settings accept SafetySetting
    protos or dicts such as {"category": "HARM_CATEGORY_HARASSMENT", "threshold":
    "BLOCK_ONLY_HIGH"}.
    """

    temperature: float | None = None
    max_output_tokens: int | None = None
    stop_sequences: Sequence[str] = ()
    candidate_count: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_logprobs: bool | None = None
    logprobs: int | None = None
    thinking_config: generation_pb2.ThinkingConfig | dict[str, Any] | None = None
    system_instruction: Any = None
    tools: Sequence[Any] = ()
    tool_config: content_pb2.ToolConfig | dict[str, Any] | None = None
    safety_settings: SafetySettingsInput = ()
    response_mime_type: str | None = None
    response_schema: Any = None
    response_json_schema: dict[str, Any] | None = None
    cached_content: str | None = None
    automatic_function_calling: AutomaticFunctionCallingConfig | dict[str, Any] | None = None


class GenerateContentConfigDict(TypedDict, total=False):
    """GenerateContentConfig as a dict."""

    temperature: float
    max_output_tokens: int
    stop_sequences: Sequence[str]
    candidate_count: int
    top_p: float
    top_k: int
    seed: int
    presence_penalty: float
    frequency_penalty: float
    response_logprobs: bool
    logprobs: int
    thinking_config: generation_pb2.ThinkingConfig | dict[str, Any]
    system_instruction: Any
    tools: Sequence[Any]
    tool_config: content_pb2.ToolConfig | dict[str, Any]
    safety_settings: SafetySettingsInput
    response_mime_type: str
    response_schema: Any
    response_json_schema: dict[str, Any]
    cached_content: str
    automatic_function_calling: AutomaticFunctionCallingConfig | dict[str, Any]


ConfigInput = GenerateContentConfig | GenerateContentConfigDict | dict[str, Any] | None


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


@dataclass(frozen=True)
class EmbedContentConfig:
    """Options for embed_content, applied to every input; each is optional.

    task_type: what the vectors are for, a TaskType name such as "RETRIEVAL_QUERY" or its
    number. title: the document's title (RETRIEVAL_DOCUMENT only). output_dimensionality:
    keep only the first n dimensions.
    """

    task_type: str | int | None = None
    title: str | None = None
    output_dimensionality: int | None = None


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
