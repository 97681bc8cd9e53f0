"""The client against the real servicers (FakeServer over the FakeEngine), both shells."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.longrunning import operations_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

from tests.client.conftest import Api
from textgen import errors
from textgen._calls import LongRunning, call, method
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources._base import Resource, async_operation, sync_operation
from textgen.testing.fake_server import FakeServer
from textgen.testing.pacing import Progression

Tuned = tuned_model_pb2.TunedModel
Meta = tuned_model_service_pb2.CreateTunedModelMetadata


async def test_list_and_get_models(live: Api) -> None:
    models = await live.items(lambda c: c.models.list(page_size=2))
    names = [model.name for model in models]
    assert "models/text-bison-001" in names and len(names) >= 5
    model = await live(lambda c: c.models.get("text-bison-001"))
    assert model.name == "models/text-bison-001"
    with pytest.raises(errors.NotFound):
        await live(lambda c: c.models.get("no-such-model"))


async def test_generate_and_stream_text(live: Api) -> None:
    response = await live(lambda c: c.models.generate_text("text-bison-001", "Write a story"))
    assert response.text
    chunks = await live.items(lambda c: c.models.stream_generate_text("text-bison-001", "Hi"))
    assert "".join(chunk.text for chunk in chunks)
    assert await live(lambda c: c.models.count_text_tokens("text-bison-001", "a b c")) > 0


async def test_invalid_argument_names_the_field(live: Api) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        await live(lambda c: c.models.generate_text("text-bison-001", "x", temperature=7.0))
    assert any("temperature" in v.field for v in caught.value.field_violations)


async def test_chunked_embeddings(live: Api, fake: FakeServer) -> None:
    texts = [f"text {i}" for i in range(250)]
    vectors = await live(lambda c: c.models.batch_embed_text("embedding-gecko-001", texts))
    assert len(vectors) == 250
    single = await live(lambda c: c.models.embed_text("embedding-gecko-001", "text 7"))
    assert vectors[7] == pytest.approx(single)
    fake.journal.assert_called("BatchEmbedText", times=3)


async def test_generate_content_follows_the_system_instruction(live: Api) -> None:
    config = {"system_instruction": "respond: hello there"}
    response = await live(
        lambda c: c.models.generate_content("gemini-1.5-flash", "hi", config=config)
    )
    assert response.text == "hello there"
    tokens = await live(lambda c: c.models.count_tokens("gemini-1.5-flash", "how many tokens"))
    assert tokens > 0


async def test_automatic_function_calling(live: Api, fake: FakeServer) -> None:
    calls: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:
        """Adds two whole numbers."""
        calls.append((a, b))
        return a + b

    response = await live(
        lambda c: c.models.generate_content(
            "gemini-1.5-flash", "add 2 and 3", config={"tools": [add]}
        )
    )
    assert calls == [(2, 3)]
    assert "5" in response.text
    fake.journal.assert_called("GenerateContent", times=2)


async def test_chat_keeps_history(live: Api) -> None:
    chat = live.client.chats.create("gemini-1.5-flash")
    await live(lambda c: chat.send_message("hello"))
    chunks = await live.items(lambda c: chat.send_message_stream("and again"))
    assert chunks
    assert [turn.role for turn in chat.history] == ["user", "model", "user", "model"]


async def test_scripted_unavailable_is_retried(live: Api, fake: FakeServer) -> None:
    fake.script("GetModel").fail(grpc.StatusCode.UNAVAILABLE, times=2)
    model = await live(lambda c: c.models.get("text-bison-001"))
    assert model.name == "models/text-bison-001"
    fake.journal.assert_called("GetModel", times=3)


# A long-running method bound the way a resource module would bind it (see
# textgen.resources.__init__): declared once, planned once, one line per shell.
CREATE_TUNED_MODEL = method(
    "textgen.v1.TunedModelService",
    "CreateTunedModel",
    tuned_model_service_pb2.CreateTunedModelRequest,
    operations_pb2.Operation,
    idempotent=False,
)


def _create(base_model: str, examples: int) -> LongRunning[Tuned, Meta]:
    data = tuned_model_pb2.TuningExamples(
        examples=[
            tuned_model_pb2.TuningExample(text_input=f"q{i}", output=f"a{i}")
            for i in range(examples)
        ]
    )
    tuned = Tuned(
        base_model=base_model,
        tuning_task=tuned_model_pb2.TuningTask(
            training_data=tuned_model_pb2.TuningDataset(examples=data),
            hyperparameters=tuned_model_pb2.Hyperparameters(epoch_count=2, batch_size=2),
        ),
    )
    request = tuned_model_service_pb2.CreateTunedModelRequest(tuned_model=tuned)
    return LongRunning(call(CREATE_TUNED_MODEL, request), Tuned, Meta)


class Tuning(Resource[SyncRunner]):
    create = sync_operation(_create)


class AsyncTuning(Resource[AsyncRunner]):
    create = async_operation(_create)


async def test_tuning_operation_reports_progress(live: Api, fake: FakeServer) -> None:
    fake.progression = Progression.after_duration(0.5)
    tuning: Any = (AsyncTuning if live.is_async else Tuning)(live.client._runner)
    op = await live(lambda c: tuning.create("models/gemini-1.0-pro-001", 4))
    assert op.name.startswith("tunedModels/") and "/operations/" in op.name
    steps: list[int] = []
    model = await live(
        lambda c: op.result(timeout=15, on_progress=lambda m: steps.append(m.completed_steps))
    )
    assert isinstance(model, Tuned) and model.name == op.metadata.tuned_model
    assert steps == sorted(steps) and steps[-1] == op.metadata.total_steps == 4
    again = await live(lambda c: c.operations.get(op.name))
    assert again.done and isinstance(again.metadata, Meta)
    fake.progression = Progression()
