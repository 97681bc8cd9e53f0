"""client.models against a stub server, every method on both clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from textgen.v1 import (
    content_pb2,
    generation_pb2,
    message_pb2,
    model_pb2,
    model_service_pb2,
    safety_pb2,
    text_pb2,
)

from tests.client.conftest import Api
from tests.client.stub_server import StubServer, abort
from textgen import errors
from textgen.resources import models as m
from textgen.resources._content import GENERATE_CONTENT, STREAM_GENERATE_CONTENT

pb = model_service_pb2


def _model_pages(request: pb.ListModelsRequest, context: Any) -> pb.ListModelsResponse:
    start = int(request.page_token or 0)
    names = [f"models/m{i}" for i in range(start, min(start + 2, 5))]
    token = str(start + 2) if start + 2 < 5 else ""
    return pb.ListModelsResponse(
        models=[model_pb2.Model(name=n) for n in names], next_page_token=token
    )


APIS = ("textgen", "generativelanguage", "yandex")


async def test_get_normalises_the_name(api: Api, stub: StubServer) -> None:
    stub.script(m.GET_MODEL, lambda request, context: model_pb2.Model(name=request.name))
    assert (await api(lambda c: c.models.get("text-1"))).name == "models/text-1"
    assert (await api(lambda c: c.models.get("models/text-1"))).name == "models/text-1"


async def test_list_walks_every_page(api: Api, stub: StubServer) -> None:
    stub.script(m.LIST_MODELS, _model_pages)
    found = await api.items(lambda c: c.models.list(page_size=2))
    assert [model.name for model in found] == [f"models/m{i}" for i in range(5)]
    requests = [r.request for r in stub.calls(m.LIST_MODELS)]
    assert [r.page_token for r in requests] == ["", "2", "4"]
    assert {r.page_size for r in requests} == {2}


async def test_list_pages(api: Api, stub: StubServer) -> None:
    stub.script(m.LIST_MODELS, _model_pages)
    pages = await api.items(lambda c: c.models.list().pages())
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert pages[-1].next_page_token == ""


async def test_generate_text(api: Api, stub: StubServer) -> None:
    answer = pb.GenerateTextResponse(candidates=[text_pb2.TextCompletion(output="hi there")])
    stub.script(m.GENERATE_TEXT, answer)
    response = await api(
        lambda c: c.models.generate_text(
            "text-1",
            "hello",
            temperature=0.5,
            max_output_tokens=7,
            stop_sequences=["."],
            safety_settings=[{"category": "HARM_CATEGORY_TOXICITY", "threshold": "BLOCK_NONE"}],
        )
    )
    assert response.text == "hi there"
    assert response.raw == answer
    assert len(response.candidates) == 1
    sent = stub.calls(m.GENERATE_TEXT)[0].request
    assert sent.model == "models/text-1" and sent.prompt.text == "hello"
    assert sent.temperature == 0.5 and sent.max_output_tokens == 7
    assert sent.HasField("temperature") and not sent.HasField("top_k")
    assert sent.safety_settings[0].category == safety_pb2.HARM_CATEGORY_TOXICITY
    assert list(sent.stop_sequences) == ["."]


async def test_blocked_text_says_why(api: Api, stub: StubServer) -> None:
    blocked = pb.GenerateTextResponse(
        filters=[safety_pb2.ContentFilter(reason=safety_pb2.ContentFilter.SAFETY, message="toxic")],
        safety_feedback=[
            safety_pb2.SafetyFeedback(
                rating=safety_pb2.SafetyRating(category=safety_pb2.HARM_CATEGORY_TOXICITY)
            )
        ],
    )
    stub.script(m.GENERATE_TEXT, blocked)
    response = await api(lambda c: c.models.generate_text("text-1", "bad"))
    assert response.candidates == [] and len(response.filters) == 1
    assert len(response.safety_feedback) == 1
    with pytest.raises(errors.BlockedContentError, match="SAFETY: toxic") as caught:
        _ = response.text
    assert caught.value.reasons == ["SAFETY"]
    assert "HARM_CATEGORY_TOXICITY" in str(caught.value)


@pytest.mark.flavours("textgen")
async def test_stream_generate_text(api: Api, stub: StubServer) -> None:
    def pieces(request: Any, context: Any) -> Iterator[pb.GenerateTextResponse]:
        for word in ["Once ", "upon ", "a time"]:
            yield pb.GenerateTextResponse(candidates=[text_pb2.TextCompletion(output=word)])

    stub.script(m.STREAM_GENERATE_TEXT, pieces)
    chunks = await api.items(lambda c: c.models.stream_generate_text("text-1", "tell"))
    assert "".join(chunk.text for chunk in chunks) == "Once upon a time"


@pytest.mark.flavours("textgen")
async def test_stream_errors_are_typed(api: Api, stub: StubServer) -> None:
    def broken(request: Any, context: Any) -> Iterator[pb.GenerateTextResponse]:
        yield pb.GenerateTextResponse(candidates=[text_pb2.TextCompletion(output="a")])

        abort(context, grpc.StatusCode.INTERNAL, "engine broke")

    stub.script(m.STREAM_GENERATE_TEXT, broken)
    with pytest.raises(errors.Internal, match="engine broke"):
        await api.items(lambda c: c.models.stream_generate_text("text-1", "tell"))


async def test_counts(api: Api, stub: StubServer) -> None:
    stub.script(m.COUNT_TEXT_TOKENS, pb.CountTextTokensResponse(token_count=4))
    stub.script(m.COUNT_MESSAGE_TOKENS, pb.CountMessageTokensResponse(token_count=5))
    stub.script(m.COUNT_TOKENS, pb.CountTokensResponse(total_tokens=6))
    assert await api(lambda c: c.models.count_text_tokens("text-1", "a b c d")) == 4
    assert await api(lambda c: c.models.count_message_tokens("chat-1", ["hi", "yo"])) == 5
    assert await api(lambda c: c.models.count_tokens("gem", ["a", "b"])) == 6
    counted = stub.calls(m.COUNT_TOKENS)[0].request
    assert [p.text for p in counted.contents[0].parts] == ["a", "b"]


async def test_generate_message(api: Api, stub: StubServer) -> None:
    reply = message_pb2.Message(author="1", content="hello!")
    stub.script(m.GENERATE_MESSAGE, pb.GenerateMessageResponse(candidates=[reply]))
    response = await api(
        lambda c: c.models.generate_message(
            "chat-1",
            ["hi", "who are you?", "hi"],
            context="be nice",
            examples=[("q", "a")],
            top_k=3,
        )
    )
    assert response.text == "hello!"
    sent = stub.calls(m.GENERATE_MESSAGE)[0].request
    assert [x.author for x in sent.prompt.messages] == ["0", "1", "0"]
    assert sent.prompt.context == "be nice"
    assert sent.prompt.examples[0].output.content == "a"
    assert sent.top_k == 3


async def test_embed_text(api: Api, stub: StubServer) -> None:
    stub.script(m.EMBED_TEXT, pb.EmbedTextResponse(embedding=text_pb2.Embedding(value=[1, 2])))
    assert await api(lambda c: c.models.embed_text("embed-1", "x")) == [1.0, 2.0]


async def test_batch_embed_text_chunks_and_keeps_order(api: Api, stub: StubServer) -> None:
    def embed(request: pb.BatchEmbedTextRequest, context: Any) -> pb.BatchEmbedTextResponse:
        return pb.BatchEmbedTextResponse(
            embeddings=[text_pb2.Embedding(value=[float(t)]) for t in request.texts]
        )

    stub.script(m.BATCH_EMBED_TEXT, embed)
    texts = [str(i) for i in range(250)]
    vectors = await api(lambda c: c.models.batch_embed_text("embed-1", texts))
    assert vectors == [[float(i)] for i in range(250)]
    sizes = sorted(len(r.request.texts) for r in stub.calls(m.BATCH_EMBED_TEXT))
    assert sizes == [50, 100, 100]
    assert await api(lambda c: c.models.batch_embed_text("embed-1", [])) == []


async def test_embed_content(api: Api, stub: StubServer) -> None:
    answer = pb.EmbedContentResponse(embedding=generation_pb2.ContentEmbedding(values=[0.5]))
    stub.script(m.EMBED_CONTENT, answer)
    vector = await api(
        lambda c: c.models.embed_content(
            "embed-2", "doc", task_type="RETRIEVAL_DOCUMENT", title="t", output_dimensionality=1
        )
    )
    assert vector == [0.5]
    sent = stub.calls(m.EMBED_CONTENT)[0].request
    assert sent.task_type == generation_pb2.RETRIEVAL_DOCUMENT and sent.title == "t"
    assert sent.content.parts[0].text == "doc"


def _answer(*parts: content_pb2.Part, finish: int = 1) -> pb.GenerateContentResponse:
    return pb.GenerateContentResponse(
        candidates=[
            generation_pb2.Candidate(
                content=content_pb2.Content(role="model", parts=list(parts)),
                finish_reason=finish,  # type: ignore[arg-type]
            )
        ]
    )


async def test_generate_content_text_and_config(api: Api, stub: StubServer) -> None:
    stub.script(
        GENERATE_CONTENT, _answer(content_pb2.Part(text="blue "), content_pb2.Part(text="sky"))
    )
    response = await api(
        lambda c: c.models.generate_content(
            "gem",
            "Why is the sky blue?",
            config={
                "temperature": 0.1,
                "seed": 3,
                "system_instruction": "be brief",
                "stop_sequences": ["x"],
                "max_output_tokens": 9,
            },
        )
    )
    assert response.text == "blue sky"
    assert response.function_calls == [] and response.parsed is None
    sent = stub.calls(GENERATE_CONTENT)[0].request
    assert sent.contents[0].role == "user"
    assert sent.generation_config.seed == 3
    assert sent.generation_config.max_output_tokens == 9
    assert sent.system_instruction.parts[0].text == "be brief"


async def test_blocked_prompt_raises_on_text(api: Api, stub: StubServer) -> None:
    feedback = pb.GenerateContentResponse.PromptFeedback(block_reason=1)  # type: ignore[arg-type]
    stub.script(GENERATE_CONTENT, pb.GenerateContentResponse(prompt_feedback=feedback))
    response = await api(lambda c: c.models.generate_content("gem", "bad"))
    with pytest.raises(errors.BlockedContentError, match="prompt was blocked: SAFETY"):
        _ = response.text


async def test_blocked_candidate_raises_on_text(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _answer(finish=generation_pb2.Candidate.SAFETY))
    response = await api(lambda c: c.models.generate_content("gem", "bad"))
    with pytest.raises(errors.BlockedContentError, match="answer was blocked: SAFETY"):
        _ = response.text


async def test_stream_generate_content(api: Api, stub: StubServer) -> None:
    def pieces(request: Any, context: Any) -> Iterator[pb.GenerateContentResponse]:
        yield _answer(content_pb2.Part(text="a"), finish=0)
        yield _answer(content_pb2.Part(text="b"))

    stub.script(STREAM_GENERATE_CONTENT, pieces)
    chunks = await api.items(lambda c: c.models.stream_generate_content("gem", "go"))
    assert [chunk.text for chunk in chunks] == ["a", "b"]
