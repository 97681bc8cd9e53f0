"""`client.models`: ModelService -- discovery, generation, token counting and embeddings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textgen import _convert
from textgen._calls import Call, Paged, Plan, Program, Streamed, call, method, paged
from textgen._convert import ContentsInput
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources import _content
from textgen.resources._base import (
    Resource,
    async_call,
    async_paged,
    async_stream,
    sync_call,
    sync_paged,
    sync_stream,
)
from textgen.resources._content import SERVICE, model_name
from textgen.resources._embedding import (
    BATCH_EMBED_CONTENTS,
    BATCH_EMBED_TEXT,
    EMBED_CONTENT,
    EMBED_TEXT,
    EmbeddingCalls,
)
from textgen.resources._text import (
    COUNT_MESSAGE_TOKENS,
    COUNT_TEXT_TOKENS,
    GENERATE_MESSAGE,
    GENERATE_TEXT,
    STREAM_GENERATE_TEXT,
    TextCalls,
)
from textgen.types import ConfigInput, ContentResponse, TokenCount
from textgen.v1 import model_pb2, model_service_pb2

__all__ = [  # the methods of every ModelService RPC stay importable from here
    "BATCH_EMBED_CONTENTS",
    "BATCH_EMBED_TEXT",
    "COUNT_MESSAGE_TOKENS",
    "COUNT_TEXT_TOKENS",
    "COUNT_TOKENS",
    "EMBED_CONTENT",
    "EMBED_TEXT",
    "GENERATE_MESSAGE",
    "GENERATE_TEXT",
    "GET_MODEL",
    "LIST_MODELS",
    "STREAM_GENERATE_TEXT",
    "AsyncModels",
    "ModelCalls",
    "Models",
]

pb = model_service_pb2
# Every ModelService method reads or computes; none changes state, so all may be retried.
GET_MODEL = method(SERVICE, "GetModel", pb.GetModelRequest, model_pb2.Model, idempotent=True)
LIST_MODELS = method(
    SERVICE, "ListModels", pb.ListModelsRequest, pb.ListModelsResponse, idempotent=True
)
COUNT_TOKENS = method(
    SERVICE, "CountTokens", pb.CountTokensRequest, pb.CountTokensResponse, idempotent=True
)
TUNED_PREFIX = "tunedModels/"


def _tuned_as_model(name: str) -> Program[model_pb2.Model]:
    """A tuned model described as a Model: its own name, display name, description and
    sampling defaults, with the limits and generation methods of the base model it serves
    through (google-genai's models.get answers a tuned model's name the same way)."""
    from textgen.resources.tuned_models import GET_TUNED_MODEL  # noqa: PLC0415 (cycle)
    from textgen.v1 import tuned_model_service_pb2  # noqa: PLC0415

    tuned = yield call(GET_TUNED_MODEL, tuned_model_service_pb2.GetTunedModelRequest(name=name))
    base_name = tuned.base_model or tuned.tuned_model_source.base_model
    base: model_pb2.Model = yield call(GET_MODEL, pb.GetModelRequest(name=base_name))
    model = model_pb2.Model()
    model.CopyFrom(base)
    model.name = tuned.name
    model.display_name = tuned.display_name
    model.description = tuned.description
    for field in ("temperature", "top_p", "top_k"):
        if tuned.HasField(field):
            setattr(model, field, getattr(tuned, field))
    return model


class ModelCalls(TextCalls, EmbeddingCalls):
    """Each ModelService call as a plan; `Models` and `AsyncModels` run them. The text and
    message calls are `TextCalls`'s, the embedding calls `EmbeddingCalls`'s."""

    @staticmethod
    def get(name: str) -> Plan[model_pb2.Model]:
        """One model, by name: `models/x` (or just `x`), or a tuned model's `tunedModels/y`.

        A tuned model comes back as a Model named `tunedModels/y`, with its display name,
        description and sampling defaults, and the limits and generation methods of its base
        model; `client.tuned_models.get` gives its full TunedModel record.
        """
        name = model_name(name)
        if name.startswith(TUNED_PREFIX):
            return _tuned_as_model(name)
        return call(GET_MODEL, pb.GetModelRequest(name=name))

    @staticmethod
    def list_models(
        *, page_size: int | None = None, config: Mapping[str, Any] | None = None
    ) -> Paged[model_pb2.Model]:
        """Every base model, fetched a page at a time as you iterate.

        `config={"page_size": 10}` is google-genai's spelling of `page_size=10`.
        """
        options = dict(config or {})
        if options.pop("query_base", True) is False:
            raise ValueError(
                "models.list lists base models; list tuned ones with tuned_models.list()"
            )
        size = options.pop("page_size", None)
        if options:
            raise TypeError(f"models.list takes page_size in its config, not {sorted(options)}")
        request = pb.ListModelsRequest(page_size=page_size or size or 0)
        return paged(LIST_MODELS, request, lambda page: page.models)

    @staticmethod
    def generate_content(
        model: str, contents: ContentsInput, *, config: ConfigInput = None
    ) -> Program[ContentResponse]:
        """Answer `contents`; Python functions in `config.tools` are called automatically."""
        prepared = _convert.prepare(config)
        return _content.generate(model_name(model), _convert.to_contents(contents), prepared)

    @staticmethod
    def stream_generate_content(
        model: str, contents: ContentsInput, *, config: ConfigInput = None
    ) -> Streamed[ContentResponse]:
        """Like generate_content, yielding the answer in pieces (functions are not run)."""
        prepared = _convert.prepare(config)
        return _content.stream(model_name(model), _convert.to_contents(contents), prepared)

    @staticmethod
    def count_tokens(
        model: str, contents: ContentsInput, *, config: ConfigInput = None
    ) -> Call[TokenCount]:
        """How many tokens `contents` take: an int with `.total_tokens` and the other counts.

        With a config (system_instruction, tools, ...), the whole GenerateContentRequest it
        makes is counted, as the server would read it for generate_content.
        """
        name = model_name(model)
        turns = _convert.to_contents(contents)
        request = pb.CountTokensRequest(model=name)
        if config is None:
            request.contents.extend(turns)
        else:
            request.generate_content_request.CopyFrom(_convert.prepare(config).request(name, turns))
        return call(COUNT_TOKENS, request, TokenCount)


c = ModelCalls


class Models(Resource[SyncRunner]):
    """Base models and generation (blocking). Every method is described in `ModelCalls`."""

    get = sync_call(c.get)
    list = sync_paged(c.list_models)
    generate_text = sync_call(c.generate_text)
    stream_generate_text = sync_stream(c.stream_generate_text)
    count_text_tokens = sync_call(c.count_text_tokens)
    generate_message = sync_call(c.generate_message)
    count_message_tokens = sync_call(c.count_message_tokens)
    embed_text = sync_call(c.embed_text)
    batch_embed_text = sync_call(c.batch_embed_text)
    batch_embed_contents = sync_call(c.batch_embed_contents)
    generate_content = sync_call(c.generate_content)
    stream_generate_content = sync_stream(c.stream_generate_content)
    generate_content_stream = sync_stream(c.stream_generate_content)  # google-genai's name
    count_tokens = sync_call(c.count_tokens)
    embed_content = sync_call(c.embed_content)


class AsyncModels(Resource[AsyncRunner]):
    """Base models and generation (asyncio): await calls; `async for` over list and streams."""

    get = async_call(c.get)
    list = async_paged(c.list_models)
    generate_text = async_call(c.generate_text)
    stream_generate_text = async_stream(c.stream_generate_text)
    count_text_tokens = async_call(c.count_text_tokens)
    generate_message = async_call(c.generate_message)
    count_message_tokens = async_call(c.count_message_tokens)
    embed_text = async_call(c.embed_text)
    batch_embed_text = async_call(c.batch_embed_text)
    batch_embed_contents = async_call(c.batch_embed_contents)
    generate_content = async_call(c.generate_content)
    stream_generate_content = async_stream(c.stream_generate_content)
    generate_content_stream = async_stream(c.stream_generate_content)  # google-genai's name
    count_tokens = async_call(c.count_tokens)
    embed_content = async_call(c.embed_content)
