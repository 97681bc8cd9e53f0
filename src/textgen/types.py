"""Typed inputs (generation and embedding config), and the response wrappers of
`textgen.responses` (the raw protos stay at `.raw`), in one namespace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from textgen.parts import Content, ModelContent, Part, UserContent
from textgen.responses import (
    ContentResponse,
    EmbedContentResponse,
    MessageResponse,
    TextChunk,
    TextResponse,
    TokenCount,
)
from textgen.v1 import content_pb2, generation_pb2, safety_pb2

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
