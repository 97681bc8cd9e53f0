"""Embedding calls for `client.models`: inputs and options to protos, and lists of inputs in
chunked batches sent concurrently."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

from textgen import _convert
from textgen._calls import Call, Gather, Plan, Program, call, mapped, method
from textgen.resources._content import SERVICE, model_name
from textgen.types import EmbedContentConfig, EmbedContentResponse
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2

pb = model_service_pb2
EMBED_TEXT = method(
    SERVICE, "EmbedText", pb.EmbedTextRequest, pb.EmbedTextResponse, idempotent=True
)
BATCH_EMBED_TEXT = method(
    SERVICE, "BatchEmbedText", pb.BatchEmbedTextRequest, pb.BatchEmbedTextResponse, idempotent=True
)
EMBED_CONTENT = method(
    SERVICE, "EmbedContent", pb.EmbedContentRequest, pb.EmbedContentResponse, idempotent=True
)
BATCH_EMBED_CONTENTS = method(
    SERVICE,
    "BatchEmbedContents",
    pb.BatchEmbedContentsRequest,
    pb.BatchEmbedContentsResponse,
    idempotent=True,
)
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


def _embed_contents(
    model: str, requests: Sequence[pb.EmbedContentRequest]
) -> Program[list[generation_pb2.ContentEmbedding]]:
    # Each request's embedding, in order, through BatchEmbedContents.
    return in_chunks(
        requests,
        lambda chunk: call(
            BATCH_EMBED_CONTENTS,
            pb.BatchEmbedContentsRequest(model=model, requests=chunk),
            lambda r: list(r.embeddings),
        ),
    )


class EmbeddingCalls:
    """The embedding methods of `ModelCalls`."""

    @staticmethod
    def embed_text(model: str, text: str) -> Call[list[float]]:
        """The embedding vector of one text."""
        request = pb.EmbedTextRequest(model=model_name(model), text=text)
        return call(EMBED_TEXT, request, lambda r: list(r.embedding.value))

    @staticmethod
    def batch_embed_text(
        model: str,
        texts: Iterable[str] = (),
        *,
        requests: Iterable[pb.EmbedTextRequest | Mapping[str, Any]] = (),
    ) -> Program[list[list[float]]]:
        """Embeddings of any number of texts, in order.

        Give either `texts` or `requests` (EmbedTextRequest protos or dicts such as
        {"text": "..."}; a request without a model gets this call's model), not both. They go
        out in requests of at most 100, sent concurrently.
        """
        name = model_name(model)
        listed = list(texts)
        items = [embed_text_request(name, r) for r in requests]
        if listed and items:
            raise TypeError("batch_embed_text takes texts or requests, not both")

        def batch(request: pb.BatchEmbedTextRequest) -> Call[list[list[float]]]:
            return call(BATCH_EMBED_TEXT, request, lambda r: [list(e.value) for e in r.embeddings])

        if items:
            return in_chunks(
                items, lambda chunk: batch(pb.BatchEmbedTextRequest(model=name, requests=chunk))
            )
        return in_chunks(
            listed, lambda chunk: batch(pb.BatchEmbedTextRequest(model=name, texts=chunk))
        )

    @staticmethod
    def batch_embed_contents(
        model: str,
        contents_list: Iterable[ContentInput],
        *,
        task_type: str | int | None = None,
        title: str | None = None,
        output_dimensionality: int | None = None,
    ) -> Program[list[list[float]]]:
        """Embeddings of any number of contents, in order (the options apply to each).

        Like batch_embed_text, they go out in requests of at most 100, sent concurrently.
        """
        name = model_name(model)
        requests = [
            embed_content_request(name, content, task_type, title, output_dimensionality)
            for content in contents_list
        ]
        embeddings = _embed_contents(name, requests)
        return mapped(embeddings, lambda found: [list(e.values) for e in found])

    @staticmethod
    def embed_content(
        model: str,
        contents: EmbedInput | None = None,
        *,
        config: EmbedConfigInput = None,
        task_type: str | int | None = None,
        title: str | None = None,
        output_dimensionality: int | None = None,
        content: ContentInput | None = None,
    ) -> Plan[EmbedContentResponse]:
        """Embed one input, or each input of a list: `.embeddings[i].values` is input i's.

        An input is a str, a Part, a Content or a dict; a list holds several inputs (give
        one Content to embed several parts together). The options (in `config`, an
        EmbedContentConfig or dict, or as keywords) apply to every input; task_type is a
        TaskType name such as "RETRIEVAL_QUERY". `content=` is the former name of the
        single input. A list goes out through BatchEmbedContents, 100 inputs a request.
        """
        if (contents is None) == (content is None):
            raise TypeError("embed_content takes one of contents or content")
        options = embed_options(config, task_type, title, output_dimensionality)
        name = model_name(model)
        inputs: list[ContentInput]
        single = True
        if content is not None:
            inputs = [content]
        elif isinstance(contents, str | content_pb2.Part | content_pb2.Content | Mapping):
            inputs = [contents]
        else:
            inputs, single = list(contents or ()), False
        requests = [
            embed_content_request(
                name, item, options.task_type, options.title, options.output_dimensionality
            )
            for item in inputs
        ]
        if single:
            return call(EMBED_CONTENT, requests[0], lambda r: EmbedContentResponse([r.embedding]))
        return mapped(_embed_contents(name, requests), EmbedContentResponse)
