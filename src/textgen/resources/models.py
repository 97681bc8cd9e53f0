"""`client.models`: ModelService -- discovery, generation, token counting and embeddings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from textgen import _convert
from textgen._calls import (
    Call,
    Paged,
    Plan,
    Program,
    Streamed,
    call,
    mapped,
    method,
    paged,
    streamed,
)
from textgen._convert import ContentsInput, MessageInput
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources import _content, _embedding
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
from textgen.resources._embedding import ContentInput, EmbedConfigInput, EmbedInput
from textgen.types import (
    ConfigInput,
    ContentResponse,
    EmbedContentResponse,
    MessageResponse,
    SafetySettingsInput,
    TextChunk,
    TextResponse,
    TokenCount,
)
from textgen.v1 import (
    content_pb2,
    message_pb2,
    model_pb2,
    model_service_pb2,
    text_pb2,
)

pb = model_service_pb2
# Every ModelService method reads or computes; none changes state, so all may be retried.
GET_MODEL = method(SERVICE, "GetModel", pb.GetModelRequest, model_pb2.Model, idempotent=True)
LIST_MODELS = method(
    SERVICE, "ListModels", pb.ListModelsRequest, pb.ListModelsResponse, idempotent=True
)
GENERATE_TEXT = method(
    SERVICE, "GenerateText", pb.GenerateTextRequest, pb.GenerateTextResponse, idempotent=True
)
STREAM_GENERATE_TEXT = method(
    SERVICE,
    "StreamGenerateText",
    pb.GenerateTextRequest,
    pb.GenerateTextResponse,
    idempotent=True,
    streaming=True,
)
COUNT_TEXT_TOKENS = method(
    SERVICE,
    "CountTextTokens",
    pb.CountTextTokensRequest,
    pb.CountTextTokensResponse,
    idempotent=True,
)
GENERATE_MESSAGE = method(
    SERVICE,
    "GenerateMessage",
    pb.GenerateMessageRequest,
    pb.GenerateMessageResponse,
    idempotent=True,
)
COUNT_MESSAGE_TOKENS = method(
    SERVICE,
    "CountMessageTokens",
    pb.CountMessageTokensRequest,
    pb.CountMessageTokensResponse,
    idempotent=True,
)
EMBED_TEXT = method(
    SERVICE, "EmbedText", pb.EmbedTextRequest, pb.EmbedTextResponse, idempotent=True
)
BATCH_EMBED_TEXT = method(
    SERVICE, "BatchEmbedText", pb.BatchEmbedTextRequest, pb.BatchEmbedTextResponse, idempotent=True
)
COUNT_TOKENS = method(
    SERVICE, "CountTokens", pb.CountTokensRequest, pb.CountTokensResponse, idempotent=True
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
TUNED_PREFIX = "tunedModels/"


def _text_request(
    model: str,
    prompt: str,
    optional: Mapping[str, float | int | None],
    *,
    safety_settings: SafetySettingsInput,
    stop_sequences: Sequence[str],
    logit_bias: Mapping[str, float] | None,
) -> pb.GenerateTextRequest:
    request = pb.GenerateTextRequest(
        model=model_name(model),
        prompt=text_pb2.TextPrompt(text=prompt),
        safety_settings=_convert.safety_settings(safety_settings, "text"),
        stop_sequences=list(stop_sequences),
        logit_bias=dict(logit_bias or {}),
    )
    for name, value in optional.items():
        if value is not None:
            setattr(request, name, value)
    return request


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


class ModelCalls:
    """Each ModelService call as a plan; `Models` and `AsyncModels` run them."""

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
    def generate_text(
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        candidate_count: int | None = None,
        max_output_tokens: int | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        safety_settings: SafetySettingsInput = (),
        stop_sequences: Sequence[str] = (),
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        logprobs: int | None = None,
        logit_bias: Mapping[str, float] | None = None,
        seed: int | None = None,
    ) -> Call[TextResponse]:
        """Continue a text prompt; `.text` of the result is the first candidate.

        presence_penalty, frequency_penalty, logprobs, logit_bias and seed are the Vertex AI
        text models' options (fields this contract adds to GenerateTextRequest).
        """
        optional = {
            "temperature": temperature,
            "candidate_count": candidate_count,
            "max_output_tokens": max_output_tokens,
            "top_p": top_p,
            "top_k": top_k,
            "presence_penalty": presence_penalty,
            "frequency_penalty": frequency_penalty,
            "logprobs": logprobs,
            "seed": seed,
        }
        request = _text_request(
            model,
            prompt,
            optional,
            safety_settings=safety_settings,
            stop_sequences=stop_sequences,
            logit_bias=logit_bias,
        )
        return call(GENERATE_TEXT, request, TextResponse)

    @staticmethod
    def stream_generate_text(
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        candidate_count: int | None = None,
        max_output_tokens: int | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        safety_settings: SafetySettingsInput = (),
        stop_sequences: Sequence[str] = (),
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        logprobs: int | None = None,
        logit_bias: Mapping[str, float] | None = None,
        seed: int | None = None,
    ) -> Streamed[TextChunk]:
        """Like generate_text, yielding chunks whose `.text` is the newly added text."""
        optional = {
            "temperature": temperature,
            "candidate_count": candidate_count,
            "max_output_tokens": max_output_tokens,
            "top_p": top_p,
            "top_k": top_k,
            "presence_penalty": presence_penalty,
            "frequency_penalty": frequency_penalty,
            "logprobs": logprobs,
            "seed": seed,
        }
        request = _text_request(
            model,
            prompt,
            optional,
            safety_settings=safety_settings,
            stop_sequences=stop_sequences,
            logit_bias=logit_bias,
        )
        return streamed(STREAM_GENERATE_TEXT, request, TextChunk)

    @staticmethod
    def count_text_tokens(model: str, prompt: str) -> Call[int]:
        """How many tokens a text prompt takes."""
        request = pb.CountTextTokensRequest(
            model=model_name(model), prompt=text_pb2.TextPrompt(text=prompt)
        )
        return call(COUNT_TEXT_TOKENS, request, lambda r: r.token_count)

    @staticmethod
    def generate_message(
        model: str,
        messages: MessageInput | Sequence[MessageInput],
        *,
        context: str | None = None,
        examples: Sequence[message_pb2.Example | tuple[MessageInput, MessageInput]] = (),
        temperature: float | None = None,
        candidate_count: int | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> Call[MessageResponse]:
        """The next message of a conversation; bare strings alternate authors "0" and "1"."""
        request = pb.GenerateMessageRequest(
            model=model_name(model), prompt=_convert.message_prompt(messages, context, examples)
        )
        optional = {
            "temperature": temperature,
            "candidate_count": candidate_count,
            "top_p": top_p,
            "top_k": top_k,
        }
        for name, value in optional.items():
            if value is not None:
                setattr(request, name, value)
        return call(GENERATE_MESSAGE, request, MessageResponse)

    @staticmethod
    def count_message_tokens(
        model: str,
        messages: MessageInput | Sequence[MessageInput],
        *,
        context: str | None = None,
        examples: Sequence[message_pb2.Example | tuple[MessageInput, MessageInput]] = (),
    ) -> Call[int]:
        """How many tokens a message prompt takes."""
        request = pb.CountMessageTokensRequest(
            model=model_name(model), prompt=_convert.message_prompt(messages, context, examples)
        )
        return call(COUNT_MESSAGE_TOKENS, request, lambda r: r.token_count)

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
        items = [_embedding.embed_text_request(name, r) for r in requests]
        if listed and items:
            raise TypeError("batch_embed_text takes texts or requests, not both")
        if items:
            return _embedding.in_chunks(
                items,
                lambda chunk: call(
                    BATCH_EMBED_TEXT,
                    pb.BatchEmbedTextRequest(model=name, requests=chunk),
                    lambda r: [list(e.value) for e in r.embeddings],
                ),
            )
        return _embedding.in_chunks(
            listed,
            lambda chunk: call(
                BATCH_EMBED_TEXT,
                pb.BatchEmbedTextRequest(model=name, texts=chunk),
                lambda r: [list(e.value) for e in r.embeddings],
            ),
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
            _embedding.embed_content_request(name, content, task_type, title, output_dimensionality)
            for content in contents_list
        ]
        return _embedding.in_chunks(
            requests,
            lambda chunk: call(
                BATCH_EMBED_CONTENTS,
                pb.BatchEmbedContentsRequest(model=name, requests=chunk),
                lambda r: [list(e.values) for e in r.embeddings],
            ),
        )

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
        options = _embedding.embed_options(config, task_type, title, output_dimensionality)
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
            _embedding.embed_content_request(
                name, item, options.task_type, options.title, options.output_dimensionality
            )
            for item in inputs
        ]
        if single:
            return call(EMBED_CONTENT, requests[0], lambda r: EmbedContentResponse([r.embedding]))
        chunks = _embedding.in_chunks(
            requests,
            lambda chunk: call(
                BATCH_EMBED_CONTENTS,
                pb.BatchEmbedContentsRequest(model=name, requests=chunk),
                lambda r: list(r.embeddings),
            ),
        )
        return mapped(chunks, EmbedContentResponse)


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
