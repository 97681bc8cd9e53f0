"""Typed inputs (generation config) and response wrappers; the raw protos stay at `.raw`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

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

__all__ = [
    "AutomaticFunctionCallingConfig",
    "ContentResponse",
    "GenerateContentConfig",
    "GenerateContentConfigDict",
    "MessageResponse",
    "TextChunk",
    "TextResponse",
]


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
    system_instruction: Any = None
    tools: Sequence[Any] = ()
    tool_config: content_pb2.ToolConfig | dict[str, Any] | None = None
    safety_settings: Sequence[safety_pb2.SafetySetting | dict[str, Any]] = ()
    response_mime_type: str | None = None
    response_schema: Any = None
    response_json_schema: dict[str, Any] | None = None
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
    system_instruction: Any
    tools: Sequence[Any]
    tool_config: content_pb2.ToolConfig | dict[str, Any]
    safety_settings: Sequence[safety_pb2.SafetySetting | dict[str, Any]]
    response_mime_type: str
    response_schema: Any
    response_json_schema: dict[str, Any]
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
