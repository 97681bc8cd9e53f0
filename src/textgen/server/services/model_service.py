"""ModelService servicer: model discovery, generation, token counting and embeddings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

import grpc
from google.protobuf.message import Message

from textgen.server.engine import GenerationInput
from textgen.server.generation import embedding, screened
from textgen.server.generation.prompts import (
    Prompt,
    count_tokens_text,
    from_content_request,
    from_messages,
    from_text,
    prompt_text,
    reply_author,
)
from textgen.server.generation.resolution import ResolvedModel
from textgen.server.generation.resolver import ModelResolver
from textgen.server.generation.responses import content_filter, content_response, text_response
from textgen.server.generation.safety import (
    CONTENT_DEFAULT_CATEGORIES,
    CONTENT_SETTABLE_CATEGORIES,
    TEXT_DEFAULT_CATEGORIES,
    TEXT_SETTABLE_CATEGORIES,
    SafetyPolicy,
    Verdict,
)
from textgen.server.generation.sampling import sampling_params
from textgen.server.rpc.errors import FieldViolation
from textgen.server.state import ServerState
from textgen.server.validation.generation_rules import (
    CONTENT_RULES,
    CONTENT_SAMPLING_RULES,
    COUNT_TOKENS_RULES,
    MESSAGE_RULES,
    TEXT_RULES,
    prompt_size_violations,
    safety_setting_violations,
)
from textgen.server.validation.plan import ensure, violations
from textgen.v1 import (
    content_pb2,
    generation_pb2,
    model_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    text_pb2,
)


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    """Serves ModelService from a ServerState and its engine."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._models = ModelResolver(state)

    # --- discovery -----------------------------------------------------------------

    async def GetModel(
        self,
        request: model_service_pb2.GetModelRequest,
        context: grpc.aio.ServicerContext[model_service_pb2.GetModelRequest, model_pb2.Model],
    ) -> model_pb2.Model:
        return await self._models.describe(request.name, "name")

    async def ListModels(
        self,
        request: model_service_pb2.ListModelsRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.ListModelsRequest, model_service_pb2.ListModelsResponse
        ],
    ) -> model_service_pb2.ListModelsResponse:
        # Loaded on first use: a server starts without the page-token code.
        from textgen.server.rpc.pagination import DEFAULT_MODELS, paginate  # noqa: PLC0415

        page = paginate(
            list(self._state.engine.models()),
            page_size=request.page_size,
            page_token=request.page_token,
            default_size=DEFAULT_MODELS,
            secret=self._state.page_secret,
            binding={"method": "ListModels"},
        )
        return model_service_pb2.ListModelsResponse(
            models=page.items, next_page_token=page.next_page_token
        )

    # --- shared steps -----------------------------------------------------------------

    async def _resolve(
        self, name: str, rpc: str, *checks: Iterable[FieldViolation]
    ) -> ResolvedModel:
        """Run the syntactic checks, then look the model up for `rpc`."""
        return await self._models.resolve(name, rpc, checks)

    async def _prepare(
        self, model: ResolvedModel, text: str, policy: SafetyPolicy, field: str
    ) -> tuple[int, Verdict]:
        """Check the prompt's size (INVALID_ARGUMENT on `field`) and rate it; `text` is
        prompt_text() of the prompt, all that the model reads."""
        # The engine is called here directly, not through helpers: every generation call
        # comes this way, and each coroutine layer costs it time.
        engine = self._state.engine
        tokens = await engine.count_tokens(model.base, text)
        ensure(prompt_size_violations(tokens, model.base, field))
        return tokens, policy.judge(await engine.rate(model.base, text, policy.categories))

    async def _generate(
        self,
        model: ResolvedModel,
        text: str,
        gen_input: GenerationInput,
        policy: SafetyPolicy,
        field: str,
    ) -> screened.Screened:
        """Shared by every unary generation method: size check, safety, engine."""
        tokens, verdict = await self._prepare(model, text, policy, field)
        return await screened.generate(self._state.engine, gen_input, policy, verdict, tokens)

    def _input(
        self,
        model: ResolvedModel,
        prompt: Prompt,
        source: Message | None,
        *,
        prefix: str = "",
        content: bool = False,
        tools: Sequence[content_pb2.Tool] = (),
        tool_config: content_pb2.ToolConfig | None = None,
    ) -> GenerationInput:
        return GenerationInput(
            model=model.base,
            contents=prompt.contents,
            params=sampling_params(model, source, prefix=prefix, content=content),
            adapter=model.adapter,
            system_instruction=prompt.system_instruction,
            tools=tools,
            tool_config=tool_config,
        )

    # --- text -------------------------------------------------------------------------

    def _text_checks(
        self, request: model_service_pb2.GenerateTextRequest
    ) -> list[list[FieldViolation]]:
        return [
            violations(request, TEXT_RULES),
            safety_setting_violations(request.safety_settings, TEXT_SETTABLE_CATEGORIES),
        ]

    async def GenerateText(
        self,
        request: model_service_pb2.GenerateTextRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.GenerateTextRequest, model_service_pb2.GenerateTextResponse
        ],
    ) -> model_service_pb2.GenerateTextResponse:
        model = await self._models.resolve(
            request.model, "GenerateText", self._text_checks(request)
        )
        policy = SafetyPolicy.build(request.safety_settings, TEXT_DEFAULT_CATEGORIES)
        text = request.prompt.text  # prompt_text() of a text prompt is the text itself
        gen_input = self._input(model, from_text(text), request)
        screened = await self._generate(model, text, gen_input, policy, "prompt")
        return text_response(screened.prompt, screened.candidates)

    async def StreamGenerateText(
        self,
        request: model_service_pb2.GenerateTextRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.GenerateTextRequest, model_service_pb2.GenerateTextResponse
        ],
    ) -> AsyncIterator[model_service_pb2.GenerateTextResponse]:
        model = await self._resolve(
            request.model, "StreamGenerateText", *self._text_checks(request)
        )
        policy = SafetyPolicy.build(request.safety_settings, TEXT_DEFAULT_CATEGORIES)
        text = request.prompt.text
        gen_input = self._input(model, from_text(text), request)
        _, verdict = await self._prepare(model, text, policy, "prompt")
        if verdict.blocked:
            yield text_response(verdict, [])
            return
        async for batch in screened.stream(self._state.engine, gen_input, policy):
            yield text_response(verdict, batch)

    async def CountTextTokens(
        self,
        request: model_service_pb2.CountTextTokensRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.CountTextTokensRequest, model_service_pb2.CountTextTokensResponse
        ],
    ) -> model_service_pb2.CountTextTokensResponse:
        model = await self._resolve(
            request.model, "CountTextTokens", violations(request, TEXT_RULES)
        )
        tokens = await self._state.engine.count_tokens(model.base, request.prompt.text)
        return model_service_pb2.CountTextTokensResponse(token_count=tokens)

    # --- messages -----------------------------------------------------------------------

    async def GenerateMessage(
        self,
        request: model_service_pb2.GenerateMessageRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.GenerateMessageRequest, model_service_pb2.GenerateMessageResponse
        ],
    ) -> model_service_pb2.GenerateMessageResponse:
        model = await self._resolve(
            request.model, "GenerateMessage", violations(request, MESSAGE_RULES)
        )
        policy = SafetyPolicy.build((), TEXT_DEFAULT_CATEGORIES)
        prompt = from_messages(request.prompt)
        gen_input = self._input(model, prompt, request)
        screened = await self._generate(model, prompt_text(prompt), gen_input, policy, "prompt")
        response = model_service_pb2.GenerateMessageResponse(messages=request.prompt.messages)
        if screened.prompt.blocked:
            response.filters.append(content_filter("The prompt was blocked for safety."))
        author = reply_author(request.prompt.messages)
        for item in screened.candidates:
            if item.verdict.blocked:
                response.filters.append(
                    content_filter(f"Candidate {item.index} was blocked for safety.")
                )
            else:
                message = response.candidates.add(author=author, content=item.candidate.text())
                if item.candidate.citation_metadata is not None:  # only when the engine cites
                    message.citation_metadata.CopyFrom(item.candidate.citation_metadata)
        return response

    async def CountMessageTokens(
        self,
        request: model_service_pb2.CountMessageTokensRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.CountMessageTokensRequest,
            model_service_pb2.CountMessageTokensResponse,
        ],
    ) -> model_service_pb2.CountMessageTokensResponse:
        model = await self._resolve(
            request.model, "CountMessageTokens", violations(request, MESSAGE_RULES)
        )
        text = prompt_text(from_messages(request.prompt))
        tokens = await self._state.engine.count_tokens(model.base, text)
        return model_service_pb2.CountMessageTokensResponse(token_count=tokens)

    # --- content ------------------------------------------------------------------------

    def _content_checks(
        self, request: model_service_pb2.GenerateContentRequest
    ) -> list[list[FieldViolation]]:
        return [
            violations(request, CONTENT_RULES),
            violations(request.generation_config, CONTENT_SAMPLING_RULES, "generation_config"),
            safety_setting_violations(request.safety_settings, CONTENT_SETTABLE_CATEGORIES),
        ]

    def _content_input(
        self, model: ResolvedModel, request: model_service_pb2.GenerateContentRequest
    ) -> tuple[Prompt, GenerationInput]:
        prompt = from_content_request(request)
        config = request.generation_config if request.HasField("generation_config") else None
        tool_config = request.tool_config if request.HasField("tool_config") else None
        gen_input = self._input(
            model,
            prompt,
            config,
            prefix="generation_config",
            content=True,
            tools=list(request.tools),
            tool_config=tool_config,
        )
        return prompt, gen_input

    async def GenerateContent(
        self,
        request: model_service_pb2.GenerateContentRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.GenerateContentRequest, model_service_pb2.GenerateContentResponse
        ],
    ) -> model_service_pb2.GenerateContentResponse:
        model = await self._resolve(
            request.model, "GenerateContent", *self._content_checks(request)
        )
        policy = SafetyPolicy.build(request.safety_settings, CONTENT_DEFAULT_CATEGORIES)
        prompt, gen_input = self._content_input(model, request)
        screened = await self._generate(model, prompt_text(prompt), gen_input, policy, "contents")
        return content_response(
            model, screened.prompt, screened.candidates, screened.prompt_token_count
        )

    async def StreamGenerateContent(
        self,
        request: model_service_pb2.GenerateContentRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.GenerateContentRequest, model_service_pb2.GenerateContentResponse
        ],
    ) -> AsyncIterator[model_service_pb2.GenerateContentResponse]:
        model = await self._resolve(
            request.model, "StreamGenerateContent", *self._content_checks(request)
        )
        policy = SafetyPolicy.build(request.safety_settings, CONTENT_DEFAULT_CATEGORIES)
        prompt, gen_input = self._content_input(model, request)
        tokens, verdict = await self._prepare(model, prompt_text(prompt), policy, "contents")
        if verdict.blocked:
            yield content_response(model, verdict, [], tokens)
            return
        async for batch in screened.stream(self._state.engine, gen_input, policy):
            yield content_response(model, verdict, batch, tokens)

    async def CountTokens(
        self,
        request: model_service_pb2.CountTokensRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.CountTokensRequest, model_service_pb2.CountTokensResponse
        ],
    ) -> model_service_pb2.CountTokensResponse:
        inner = request.generate_content_request
        checks = [violations(request, COUNT_TOKENS_RULES)]
        if request.HasField("generate_content_request"):
            checks.append(violations(inner, CONTENT_RULES, "generate_content_request"))
        model = await self._resolve(request.model, "CountTokens", *checks)
        tokens = await self._state.engine.count_tokens(model.base, count_tokens_text(request))
        response = model_service_pb2.CountTokensResponse(total_tokens=tokens)
        response.prompt_tokens_details.add(modality=content_pb2.TEXT, token_count=tokens)
        return response

    # --- embeddings ---------------------------------------------------------------------

    async def EmbedText(
        self,
        request: model_service_pb2.EmbedTextRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.EmbedTextRequest, model_service_pb2.EmbedTextResponse
        ],
    ) -> model_service_pb2.EmbedTextResponse:
        model = await self._embedding_model(request.model, "EmbedText", [])
        vectors = await embedding.embed_texts(self._state, model, [request.text], "text")
        return model_service_pb2.EmbedTextResponse(embedding=text_pb2.Embedding(value=vectors[0]))

    async def BatchEmbedText(
        self,
        request: model_service_pb2.BatchEmbedTextRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.BatchEmbedTextRequest, model_service_pb2.BatchEmbedTextResponse
        ],
    ) -> model_service_pb2.BatchEmbedTextResponse:
        checks = embedding.batch_text_violations(request)
        model = await self._embedding_model(request.model, "BatchEmbedText", checks)
        texts = list(request.texts) or [item.text for item in request.requests]
        field = "texts" if request.texts else "requests"
        vectors = await embedding.embed_texts(self._state, model, texts, field)
        return model_service_pb2.BatchEmbedTextResponse(
            embeddings=[text_pb2.Embedding(value=vector) for vector in vectors]
        )

    async def EmbedContent(
        self,
        request: model_service_pb2.EmbedContentRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.EmbedContentRequest, model_service_pb2.EmbedContentResponse
        ],
    ) -> model_service_pb2.EmbedContentResponse:
        checks = embedding.content_violations([request], "")
        model = await self._embedding_model(request.model, "EmbedContent", checks)
        vectors = await embedding.embed_contents(self._state, model, [request], "")
        return model_service_pb2.EmbedContentResponse(
            embedding=generation_pb2.ContentEmbedding(values=vectors[0])
        )

    async def BatchEmbedContents(
        self,
        request: model_service_pb2.BatchEmbedContentsRequest,
        context: grpc.aio.ServicerContext[
            model_service_pb2.BatchEmbedContentsRequest,
            model_service_pb2.BatchEmbedContentsResponse,
        ],
    ) -> model_service_pb2.BatchEmbedContentsResponse:
        checks = embedding.batch_content_violations(request)
        model = await self._embedding_model(request.model, "BatchEmbedContents", checks)
        vectors = await embedding.embed_contents(
            self._state, model, list(request.requests), "requests"
        )
        return model_service_pb2.BatchEmbedContentsResponse(
            embeddings=[generation_pb2.ContentEmbedding(values=vector) for vector in vectors]
        )

    async def _embedding_model(
        self, name: str, rpc: str, checks: Iterable[FieldViolation]
    ) -> model_pb2.Model:
        resolved = await self._models.resolve(name, rpc, [checks], allow_tuned=False)
        return resolved.base
