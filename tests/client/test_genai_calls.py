"""google-genai's calls (seed 004) on our client: embeddings one per input, token counts
with their details, pagers with a current page, and models.get on a tuned model's name.

Each test runs on Client and AsyncClient, against a FakeServer (`live`) or the stub server.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from textgen.v1 import generation_pb2, model_pb2, model_service_pb2

from tests.client.conftest import Api
from tests.client.stub_server import StubServer
from textgen import types
from textgen.resources import models as m
from textgen.testing.fake_server import FakeServer
from textgen.testing.pacing import Progression

PROGRESSION = Progression.immediate()
EMBEDDER = "text-embedding-004"
pb = model_service_pb2


async def test_embed_content_gives_one_embedding_per_input(live: Api, fake: FakeServer) -> None:
    # Seed 004, "multiple contents with config".
    response = await live(
        lambda c: c.models.embed_content(
            model=EMBEDDER,
            contents=["why is the sky blue?", "What is your age?"],
            config=types.EmbedContentConfig(output_dimensionality=10),
        )
    )
    assert [len(e.values) for e in response.embeddings] == [10, 10]
    assert response.vectors[0] != response.vectors[1]
    sent = fake.journal.last("BatchEmbedContents").request
    assert [r.content.parts[0].text for r in sent.requests] == [
        "why is the sky blue?",
        "What is your age?",
    ]
    assert {r.output_dimensionality for r in sent.requests} == {10}
    with pytest.raises(TypeError, match="2 embeddings"):
        len(response)
    # Each vector is the one the input gets alone.
    alone = await live(
        lambda c: c.models.embed_content(
            model=EMBEDDER, contents="What is your age?", config={"output_dimensionality": 10}
        )
    )
    assert alone.embeddings[0].values == pytest.approx(response.embeddings[1].values)


async def test_embed_content_of_one_input_still_reads_as_its_vector(
    live: Api, fake: FakeServer
) -> None:
    # Seed 004's single form; and the form this client took before, a bare vector.
    response = await live(
        lambda c: c.models.embed_content(model=EMBEDDER, contents="why is the sky blue?")
    )
    assert len(response.embeddings) == 1
    query = "why is the sky blue?"
    vector = await live(
        lambda c: c.models.embed_content(EMBEDDER, query, task_type="RETRIEVAL_QUERY")
    )
    assert len(vector) == len(vector.embeddings[0].values) > 0
    assert list(vector) == list(vector.embeddings[0].values) and vector[0] == vector.vectors[0][0]
    assert vector == list(vector)
    fake.journal.assert_called("EmbedContent", times=2)
    assert fake.journal.last("EmbedContent").request.task_type == generation_pb2.RETRIEVAL_QUERY
    one_content = types.UserContent(parts=["two parts", "one vector"])
    together = await live(lambda c: c.models.embed_content(EMBEDDER, one_content))
    assert len(together.embeddings) == 1


async def test_embed_content_bad_task_type_lists_the_valid_ones(
    live: Api, fake: FakeServer
) -> None:
    with pytest.raises(ValueError, match="RETRIEVAL_QUERY, RETRIEVAL_DOCUMENT") as caught:
        await live(lambda c: c.models.embed_content(EMBEDDER, "x", task_type="RETRIEVAL"))
    assert "TASK_TYPE_UNSPECIFIED" not in str(caught.value)
    with pytest.raises(TypeError, match="auto_truncate"):
        await live(lambda c: c.models.embed_content(EMBEDDER, "x", config={"auto_truncate": True}))
    assert fake.journal.calls() == []
    # Names are read in any case.
    await live(lambda c: c.models.embed_content(EMBEDDER, "x", task_type="clustering"))
    assert fake.journal.last("EmbedContent").request.task_type == generation_pb2.CLUSTERING


async def test_count_tokens_answers_an_int_with_the_counts(live: Api) -> None:
    # Seed 004: `response = client.models.count_tokens(model=..., contents=...)`.
    response = await live(
        lambda c: c.models.count_tokens(model="gemini-1.5-flash", contents="why is the sky blue?")
    )
    assert response.total_tokens == int(response) > 0
    assert response == response.total_tokens  # code that took it as an int still works
    assert f"{response} tokens" == f"{int(response)} tokens"
    assert response.cached_content_token_count == 0
    assert [d.token_count for d in response.prompt_tokens_details] == [int(response)]
    assert "total_tokens=" in repr(response)
    assert pickle.loads(pickle.dumps(response)).raw == response.raw


async def test_count_tokens_counts_the_system_instruction_and_tools(
    live: Api, fake: FakeServer
) -> None:
    def get_current_weather(location: str) -> str:
        """Returns the current weather in a city."""
        return "sunny"

    bare = await live(lambda c: c.models.count_tokens("gemini-1.5-flash", "Weather?"))
    config = {
        "system_instruction": "You are a weather bot for travellers.",
        "tools": [get_current_weather],
    }
    full = await live(
        lambda c: c.models.count_tokens("gemini-1.5-flash", "Weather?", config=config)
    )
    assert full.total_tokens > bare.total_tokens
    sent = fake.journal.last("CountTokens").request
    assert not sent.contents
    inner = sent.generate_content_request
    assert inner.system_instruction.parts[0].text.startswith("You are")
    assert inner.tools[0].function_declarations[0].name == "get_current_weather"
    assert inner.contents[0].parts[0].text == "Weather?"


async def test_batch_embed_text_takes_requests(live: Api, fake: FakeServer) -> None:
    requests: list[Any] = [{"text": "hello"}, pb.EmbedTextRequest(text="world")]
    vectors = await live(
        lambda c: c.models.batch_embed_text("embedding-gecko-001", requests=requests)
    )
    texts = await live(
        lambda c: c.models.batch_embed_text("embedding-gecko-001", ["hello", "world"])
    )
    assert vectors == texts
    sent = fake.journal.calls("BatchEmbedText")[0].request
    assert [(r.model, r.text) for r in sent.requests] == [
        ("models/embedding-gecko-001", "hello"),
        ("models/embedding-gecko-001", "world"),
    ]
    assert not sent.texts
    with pytest.raises(TypeError, match="not both"):
        await live(
            lambda c: c.models.batch_embed_text("embedding-gecko-001", ["a"], requests=requests)
        )


def _pages(request: pb.ListModelsRequest, context: Any) -> pb.ListModelsResponse:
    start = int(request.page_token or 0)
    names = [f"models/m{i}" for i in range(start, min(start + request.page_size, 5))]
    token = str(start + request.page_size) if start + request.page_size < 5 else ""
    return pb.ListModelsResponse(
        models=[model_pb2.Model(name=n) for n in names], next_page_token=token
    )


async def test_pager_as_the_seed_uses_it(api: Api, stub: StubServer) -> None:
    # Seed 004: pager.page_size, pager[0], pager.next_page(), pager[0]; the async pager
    # is awaited first (`async_pager = await client.aio.models.list(...)`).
    stub.script(m.LIST_MODELS, _pages)
    pager = await api(lambda c: c.models.list(config={"page_size": 2}))
    assert pager.page_size == 2
    assert (await api(lambda c: pager[0])).name == "models/m0"
    assert [x.name for x in await api(lambda c: pager.page)] == ["models/m0", "models/m1"]
    moved = await api(lambda c: pager.next_page())
    assert [x.name for x in moved] == ["models/m2", "models/m3"]
    assert pager[0].name == "models/m2" and pager[-1].name == "models/m3"
    assert [x.name for x in await api(lambda c: pager.next_page())] == ["models/m4"]
    with pytest.raises(IndexError, match="no more pages"):
        await api(lambda c: pager.next_page())
    # Iterating still walks every item from the first page.
    assert len(await api.items(lambda c: pager)) == 5
    assert [r.request.page_token for r in stub.calls(m.LIST_MODELS)][:3] == ["", "2", "4"]


async def test_async_pager_needs_its_first_page(stub: StubServer) -> None:
    import textgen  # noqa: PLC0415

    stub.script(m.LIST_MODELS, _pages)
    async with textgen.AsyncClient(stub.target) as client:
        pager = client.models.list(page_size=2)
        with pytest.raises(RuntimeError, match="await the pager"):
            pager[0]
        assert [x.name for x in await pager.next_page()] == ["models/m2", "models/m3"]
        assert [x.name async for x in await client.models.list(page_size=4)] == [
            f"models/m{i}" for i in range(5)
        ]


async def test_models_list_config_refuses_what_it_cannot_do(api: Api, stub: StubServer) -> None:
    with pytest.raises(ValueError, match=r"tuned_models\.list"):
        await api(lambda c: c.models.list(config={"page_size": 10, "query_base": False}))
    with pytest.raises(TypeError, match="filter"):
        await api(lambda c: c.models.list(config={"filter": "x"}))
    assert stub.received == []


async def test_models_get_answers_a_tuned_model(live: Api) -> None:
    # Seed 004: `client.models.get(model=tuning_job.tuned_model.model)`.
    pairs = [("I", "II"), ("II", "III"), ("III", "IV")]
    operation = await live(
        lambda c: c.tuned_models.create(
            "models/gemini-1.0-pro-001",
            pairs,
            tuned_model_id="roman",
            display_name="Roman numerals",
            epoch_count=1,
        )
    )
    await live(lambda c: operation.result())
    model = await live(lambda c: c.models.get("tunedModels/roman"))
    base = await live(lambda c: c.models.get("models/gemini-1.0-pro-001"))
    assert model.name == "tunedModels/roman"
    assert model.display_name == "Roman numerals"
    assert model.base_model_id == base.base_model_id
    assert model.input_token_limit == base.input_token_limit > 0
    assert list(model.supported_generation_methods) == list(base.supported_generation_methods)
    assert model.HasField("temperature")


async def test_generate_text_takes_the_vertex_options(live: Api, fake: FakeServer) -> None:
    await live(
        lambda c: c.models.generate_text(
            "text-bison-001",
            "Write a haiku",
            presence_penalty=0.5,
            frequency_penalty=0.25,
            logprobs=2,
            logit_bias={"sun": 5.0},
            seed=7,
        )
    )
    sent = fake.journal.last("GenerateText").request
    assert (sent.presence_penalty, sent.frequency_penalty, sent.logprobs, sent.seed) == (
        0.5,
        0.25,
        2,
        7,
    )
    assert dict(sent.logit_bias) == {"sun": 5.0}


async def test_streams_in_the_seed_async_form() -> None:
    # Seed 004: `async for chunk in await client.aio.models.generate_content_stream(...)`
    # and `async for chunk in await chat.send_message_stream(...)`.
    import textgen  # noqa: PLC0415

    async with FakeServer() as fake, textgen.AsyncClient(fake.target) as client:
        pieces = [
            chunk.text
            async for chunk in await client.models.generate_content_stream(
                model="gemini-2.0-flash-001", contents="Tell me a story in 300 words."
            )
        ]
        assert "".join(pieces)
        chat = client.chats.create(model="gemini-2.0-flash-001")
        told = [chunk.text async for chunk in await chat.send_message_stream("tell me a story")]
        assert "".join(told)
        assert [turn.role for turn in chat.get_history()] == ["user", "model"]
        unawaited = [
            c async for c in client.models.stream_generate_content("gemini-1.5-flash", "Hi")
        ]
        assert unawaited


async def test_generate_content_stream_is_the_seed_name(live: Api) -> None:
    chunks = await live.items(
        lambda c: c.models.generate_content_stream(
            model="gemini-2.0-flash-001", contents="Tell me a story in 300 words."
        )
    )
    assert "".join(chunk.text for chunk in chunks)
