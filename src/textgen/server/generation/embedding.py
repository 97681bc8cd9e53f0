"""Embedding requests: their checks and the engine calls, for EmbedText and EmbedContent.

Each text must fit the model's input_token_limit. A batch's inner requests may repeat the
outer model but not name another one. output_dimensionality must not exceed the vector
length the engine gives for the model.
"""

from __future__ import annotations

from collections.abc import Sequence

from textgen.server.rpc.errors import FieldViolation
from textgen.server.state import ServerState
from textgen.server.validation.generation_rules import (
    BATCH_EMBED_CONTENTS_RULES,
    BATCH_EMBED_TEXT_RULES,
    EMBED_CONTENT_RULES,
    prompt_size_violations,
)
from textgen.server.validation.plan import ensure, violations
from textgen.v1 import model_pb2, model_service_pb2


def _same_model(outer: str, inner: Sequence[str], field: str) -> list[FieldViolation]:
    return [
        FieldViolation(f"{field}[{index}].model", f"must be empty or {outer!r}")
        for index, name in enumerate(inner)
        if name and name != outer
    ]


def batch_text_violations(request: model_service_pb2.BatchEmbedTextRequest) -> list[FieldViolation]:
    """Counts, texts-or-requests, and inner models."""
    return [
        *violations(request, BATCH_EMBED_TEXT_RULES),
        *_same_model(request.model, [item.model for item in request.requests], "requests"),
    ]


def content_violations(
    requests: Sequence[model_service_pb2.EmbedContentRequest], field: str
) -> list[FieldViolation]:
    """Checks of each EmbedContentRequest; `field` is "" for a single request, else the
    repeated field's name (paths become `requests[i].content`)."""
    found: list[FieldViolation] = []
    for index, request in enumerate(requests):
        prefix = f"{field}[{index}]" if field else ""
        found.extend(violations(request, EMBED_CONTENT_RULES, prefix))
    return found


def batch_content_violations(
    request: model_service_pb2.BatchEmbedContentsRequest,
) -> list[FieldViolation]:
    """Counts, each inner request, and inner models."""
    return [
        *violations(request, BATCH_EMBED_CONTENTS_RULES),
        *content_violations(list(request.requests), "requests"),
        *_same_model(request.model, [item.model for item in request.requests], "requests"),
    ]


async def _check_sizes(
    state: ServerState, model: model_pb2.Model, texts: Sequence[str], paths: Sequence[str]
) -> None:
    ensure(
        *[
            prompt_size_violations(await state.engine.count_tokens(model, text), model, path)
            for text, path in zip(texts, paths, strict=True)
        ]
    )


async def embed_texts(
    state: ServerState, model: model_pb2.Model, texts: Sequence[str], field: str
) -> list[list[float]]:
    """One vector per text, after checking each text's size (paths `field[i]`)."""
    paths = (
        [field]
        if len(texts) == 1 and field == "text"
        else [f"{field}[{i}]" for i in range(len(texts))]
    )
    await _check_sizes(state, model, texts, paths)
    return await state.engine.embed(model, texts)


async def embed_contents(
    state: ServerState,
    model: model_pb2.Model,
    requests: Sequence[model_service_pb2.EmbedContentRequest],
    field: str,
) -> list[list[float]]:
    """One vector per request, honouring each one's task type, title and dimensionality."""
    dimension = state.engine.embedding_dimension(model)
    prefixes = [f"{field}[{i}]." if field else "" for i in range(len(requests))]
    ensure(
        [
            FieldViolation(
                f"{prefix}output_dimensionality",
                f"must be at most the model's dimension ({dimension})",
            )
            for prefix, request in zip(prefixes, requests, strict=True)
            if request.HasField("output_dimensionality")
            and request.output_dimensionality > dimension
        ]
    )
    texts = ["".join(part.text for part in request.content.parts) for request in requests]
    await _check_sizes(state, model, texts, [f"{prefix}content" for prefix in prefixes])
    vectors: list[list[float]] = []
    for request, text in zip(requests, texts, strict=True):
        found = await state.engine.embed(
            model,
            [text],
            task_type=request.task_type,
            title=request.title if request.HasField("title") else None,
            dimensionality=(
                request.output_dimensionality if request.HasField("output_dimensionality") else None
            ),
        )
        vectors.extend(found)
    return vectors
