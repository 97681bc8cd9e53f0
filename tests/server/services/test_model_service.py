"""ModelService: discovery, generation with safety, streaming, counting, embeddings."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from textgen.v1 import (
    content_pb2,
    generation_pb2,
    message_pb2,
    model_service_pb2,
    safety_pb2,
    text_pb2,
    tuned_model_pb2,
)

from tests.server.conftest import resource_info, violated_fields
from textgen.server.state import ServerState
from textgen.server.storage import TunedModelRecord

TEXT = "models/text-bison-001"
GEMINI = "models/gemini-1.5-flash"
TUNABLE = "models/gemini-1.0-pro-001"


def text_request(text: str, **fields: Any) -> model_service_pb2.GenerateTextRequest:
    return model_service_pb2.GenerateTextRequest(
        model=fields.pop("model", TEXT), prompt=text_pb2.TextPrompt(text=text), **fields
    )


def content_request(text: str, model: str = GEMINI) -> model_service_pb2.GenerateContentRequest:
    return model_service_pb2.GenerateContentRequest(
        model=model,
        contents=[content_pb2.Content(role="user", parts=[content_pb2.Part(text=text)])],
    )


async def add_tuned(state: ServerState, state_value: int, **fields: Any) -> str:
    base = state.base_models()[TUNABLE]
    name = "tunedModels/my-model"
    model = tuned_model_pb2.TunedModel(name=name, base_model=TUNABLE, state=state_value, **fields)  # type: ignore[arg-type]
    await state.stores.tuned_models.create(TunedModelRecord(model, "default", base, (("a", "b"),)))
    return name


async def test_get_and_list_models(models: Any) -> None:
    model = await models.GetModel(model_service_pb2.GetModelRequest(name=TEXT))
    assert model.output_token_limit == 1024
    listed = await models.ListModels(model_service_pb2.ListModelsRequest())
    assert TEXT in [m.name for m in listed.models]
    assert listed.next_page_token == ""


async def test_unknown_model_is_not_found_with_resource_info(models: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GetModel(model_service_pb2.GetModelRequest(name="models/nope"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    info = resource_info(caught.value)
    assert info.resource_name == "models/nope"
    assert info.resource_type == "textgen.dev/Model"


async def test_generate_text_candidates_and_stop_sequences(models: Any) -> None:
    response = await models.GenerateText(text_request("Tell me a story", candidate_count=3))
    assert len(response.candidates) == 3
    first = response.candidates[0].output
    stop = first.split()[1]
    stopped = await models.GenerateText(text_request("Tell me a story", stop_sequences=[stop]))
    assert stop not in stopped.candidates[0].output


async def test_blocked_prompt_gives_filter_and_no_candidates(models: Any) -> None:
    response = await models.GenerateText(text_request("unsafe:violence:high please"))
    assert not response.candidates
    assert response.filters[0].reason == safety_pb2.ContentFilter.SAFETY
    assert response.safety_feedback[0].rating.blocked


async def test_safety_setting_can_allow_a_prompt(models: Any) -> None:
    allow = safety_pb2.SafetySetting(
        category=safety_pb2.HARM_CATEGORY_VIOLENCE, threshold=safety_pb2.SafetySetting.BLOCK_NONE
    )
    response = await models.GenerateText(
        text_request("unsafe:violence:high", safety_settings=[allow])
    )
    assert response.candidates


async def test_blocked_candidate_is_dropped(models: Any) -> None:
    response = await models.GenerateText(text_request("hi echo:unsafe:toxicity:high"))
    assert not response.candidates
    assert response.filters and response.safety_feedback


async def test_blocked_content_prompt_has_block_reason(models: Any) -> None:
    response = await models.GenerateContent(content_request("unsafe:harassment:high"))
    assert not response.candidates
    block = model_service_pb2.GenerateContentResponse.PromptFeedback.SAFETY
    assert response.prompt_feedback.block_reason == block


async def test_blocked_content_candidate_has_finish_reason_safety(models: Any) -> None:
    response = await models.GenerateContent(content_request("hi echo:unsafe:hate_speech:high"))
    assert response.candidates[0].finish_reason == generation_pb2.Candidate.SAFETY
    assert not response.candidates[0].content.parts


async def test_stream_generate_content_matches_unary(models: Any) -> None:
    unary = await models.GenerateContent(content_request("Tell a story"))
    pieces = [
        part.text
        async for chunk in models.StreamGenerateContent(content_request("Tell a story"))
        for candidate in chunk.candidates
        for part in candidate.content.parts
    ]
    assert "".join(pieces) == unary.candidates[0].content.parts[0].text


async def test_stream_generate_text(models: Any) -> None:
    unary = await models.GenerateText(text_request("Tell a story"))
    pieces = [
        c.output
        async for chunk in models.StreamGenerateText(text_request("Tell a story"))
        for c in chunk.candidates
    ]
    assert "".join(pieces) == unary.candidates[0].output


async def test_generate_message_echoes_conversation(models: Any) -> None:
    prompt = message_pb2.MessagePrompt(
        context="Be brief.",
        messages=[message_pb2.Message(author="0", content="Hello")],
    )
    response = await models.GenerateMessage(
        model_service_pb2.GenerateMessageRequest(model="models/chat-bison-001", prompt=prompt)
    )
    assert [m.content for m in response.messages] == ["Hello"]
    assert response.candidates[0].author == "1"
    assert response.candidates[0].content


async def test_count_tokens(models: Any) -> None:
    counted = await models.CountTextTokens(
        model_service_pb2.CountTextTokensRequest(
            model=TEXT, prompt=text_pb2.TextPrompt(text="one two three")
        )
    )
    assert counted.token_count > 0
    request = content_request("one two three")
    total = await models.CountTokens(
        model_service_pb2.CountTokensRequest(model=GEMINI, contents=request.contents)
    )
    assert total.total_tokens > 0


async def test_embeddings(models: Any) -> None:
    single = await models.EmbedText(
        model_service_pb2.EmbedTextRequest(model="models/embedding-gecko-001", text="hi")
    )
    batch = await models.BatchEmbedText(
        model_service_pb2.BatchEmbedTextRequest(
            model="models/embedding-gecko-001", texts=["hi", "there"]
        )
    )
    assert len(batch.embeddings) == 2
    assert list(batch.embeddings[0].value) == list(single.embedding.value)
    content = model_service_pb2.EmbedContentRequest(
        model="models/text-embedding-004",
        content=content_pb2.Content(parts=[content_pb2.Part(text="hi")]),
        output_dimensionality=8,
    )
    embedded = await models.EmbedContent(content)
    assert len(embedded.embedding.values) == 8
    content.output_dimensionality = 100000
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.EmbedContent(content)
    assert violated_fields(caught.value) == ["output_dimensionality"]


async def test_tuned_model_creating_is_failed_precondition(models: Any, state: ServerState) -> None:
    name = await add_tuned(state, tuned_model_pb2.TunedModel.CREATING)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateContent(content_request("hi", model=name))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_tuned_model_resolves_to_base(models: Any, state: ServerState) -> None:
    name = await add_tuned(state, tuned_model_pb2.TunedModel.ACTIVE, temperature=0.1)
    response = await models.GenerateContent(content_request("hi", model=name))
    assert response.model_version == TUNABLE
    assert response.candidates[0].content.parts


async def test_unknown_tuned_model_is_not_found(models: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateContent(content_request("hi", model="tunedModels/ghost"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert resource_info(caught.value).resource_type == "textgen.dev/TunedModel"


async def test_unexpected_error_is_internal_and_server_survives(
    models: Any, state: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(state.engine, "count_tokens", explode)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateText(text_request("hi"))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    monkeypatch.undo()
    assert (await models.GenerateText(text_request("hi"))).candidates
