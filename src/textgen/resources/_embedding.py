"""Embedding requests for `client.models`: inputs and options to protos, chunked batches."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

from textgen import _convert
from textgen._calls import Call, Gather, Program
from textgen.resources._content import model_name
from textgen.types import EmbedContentConfig
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2

pb = model_service_pb2
BATCH_EMBED_LIMIT = 100  # texts or contents per BatchEmbedText / BatchEmbedContents request
ContentInput: TypeAlias = (
    str
    | content_pb2.Part
    | content_pb2.Content
    | Mapping[str, Any]
    | Sequence[str | content_pb2.Part | Mapping[str, Any]]
)
# One input (embedded once) or a list of inputs (one embedding each, as google-genai does).
EmbedInput: TypeAlias = (
    str
    | content_pb2.Part
    | content_pb2.Content
    | Mapping[str, Any]
    | Sequence[str | content_pb2.Part | content_pb2.Content | Mapping[str, Any]]
)
EmbedConfigInput: TypeAlias = EmbedContentConfig | Mapping[str, Any] | None
X = TypeVar("X")
Y = TypeVar("Y")


def embed_content_request(
    model: str,
    content: ContentInput,
    task_type: str | int | None,
    title: str | None,
    output_dimensionality: int | None,
) -> pb.EmbedContentRequest:
    request = pb.EmbedContentRequest(model=model, content=_convert.to_content(content))
    if task_type is not None:
        request.task_type = task_type_value(task_type)
    if title is not None:
        request.title = title
    if output_dimensionality is not None:
        request.output_dimensionality = output_dimensionality
    return request


def task_type_value(value: str | int) -> generation_pb2.TaskType.ValueType:
    """A TaskType from its name (any case) or number; ValueError lists the valid names."""
    names = generation_pb2.TaskType.keys()
    if isinstance(value, str) and value.strip().upper() in names:
        return generation_pb2.TaskType.Value(value.strip().upper())
    if isinstance(value, int) and value in generation_pb2.TaskType.values():
        return generation_pb2.TaskType.ValueType(value)
    valid = ", ".join(n for n in names if n != "TASK_TYPE_UNSPECIFIED")
    raise ValueError(f"unknown task_type {value!r}; use one of {valid}")


def embed_options(
    config: EmbedConfigInput,
    task_type: str | int | None,
    title: str | None,
    output_dimensionality: int | None,
) -> EmbedContentConfig:
    """The embedding options from `config` and the keywords (a keyword wins when both set)."""
    if config is None:
        given = EmbedContentConfig()
    elif isinstance(config, EmbedContentConfig):
        given = config
    else:
        known = {"task_type", "title", "output_dimensionality"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise TypeError(
                f"EmbedContentConfig has no {', '.join(map(repr, unknown))} (the contract's "
                f"EmbedContentRequest does not carry it); it takes {', '.join(sorted(known))}"
            )
        given = EmbedContentConfig(**config)
    return EmbedContentConfig(
        task_type=given.task_type if task_type is None else task_type,
        title=given.title if title is None else title,
        output_dimensionality=(
            given.output_dimensionality if output_dimensionality is None else output_dimensionality
        ),
    )


def embed_text_request(
    model: str, item: pb.EmbedTextRequest | Mapping[str, Any]
) -> pb.EmbedTextRequest:
    if isinstance(item, pb.EmbedTextRequest):
        request = item
    elif isinstance(item, Mapping):
        unknown = sorted(set(item) - {"model", "text"})
        if unknown:
            raise TypeError(f"an EmbedTextRequest has model and text, not {unknown}")
        request = pb.EmbedTextRequest(model=str(item.get("model", "")), text=str(item["text"]))
    else:
        raise TypeError(f"cannot use {type(item).__name__} as an EmbedTextRequest")
    if not request.model:
        request = pb.EmbedTextRequest(model=model, text=request.text)
    else:
        request = pb.EmbedTextRequest(model=model_name(request.model), text=request.text)
    return request


def in_chunks(items: Sequence[X], request: Callable[[list[X]], Call[list[Y]]]) -> Program[list[Y]]:
    """Embeddings of `items` in order: chunks of BATCH_EMBED_LIMIT, requested concurrently."""
    chunks = [
        list(items[i : i + BATCH_EMBED_LIMIT]) for i in range(0, len(items), BATCH_EMBED_LIMIT)
    ]
    calls = [request(chunk) for chunk in chunks]
    pages: list[list[Y]] = (yield Gather(calls)) if calls else []
    return [vector for page in pages for vector in page]
