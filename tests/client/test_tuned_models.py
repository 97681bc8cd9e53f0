"""client.tuned_models against the real servicers (FakeServer), on both shells."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from textgen.v1 import tuned_model_pb2

from tests.client.conftest import Api
from textgen import errors
from textgen._calls import Progress
from textgen.testing.fake_server import FakeServer
from textgen.testing.pacing import Progression

Tuned = tuned_model_pb2.TunedModel
BASE = "gemini-1.0-pro-001"
PAIRS = [("1", "2"), ("III", "IV")]


APIS = ("textgen", "generativelanguage", "yandex")


FAKE_SERVER = {"clock": "manual"}
PROGRESSION = Progression.immediate()


async def tune(live: Api, data: Any = PAIRS, **options: Any) -> Any:
    op = await live(lambda c: c.tuned_models.create(BASE, data, epoch_count=1, **options))
    return await live(lambda c: op.result(timeout=15))


@pytest.mark.parametrize(
    "data",
    [
        PAIRS,
        [{"text_input": "1", "output": "2"}, {"text_input": "III", "output": "IV"}],
        [{"input": "1", "output": "2"}, {"input": "III", "output": "IV"}],
        [tuned_model_pb2.TuningExample(text_input=a, output=b) for a, b in PAIRS],
        tuned_model_pb2.TuningExamples(
            examples=[tuned_model_pb2.TuningExample(text_input=a, output=b) for a, b in PAIRS]
        ),
    ],
    ids=["pairs", "dicts", "input-dicts", "messages", "examples"],
)
async def test_tuned_model_answers_with_its_training(
    live: Api, fake: FakeServer, data: Any
) -> None:
    model = await tune(live, data, display_name="Roman numerals")
    assert model.state == Tuned.ACTIVE and model.name.startswith("tunedModels/roman-numerals-")
    sent = fake.journal.last("CreateTunedModel").request.tuned_model
    assert sent.base_model == f"models/{BASE}"
    examples = sent.tuning_task.training_data.examples.examples
    assert [(e.text_input, e.output) for e in examples] == PAIRS
    answer = await live(lambda c: c.tuned_models.generate_content(model.name, "III"))
    assert answer.text == "IV"
    bare = model.name.removeprefix("tunedModels/")
    again = await live(lambda c: c.tuned_models.generate_content(bare, "1"))
    assert again.text == "2"


class Recorder:
    """A ProgressRenderer that keeps what it was shown."""

    def __init__(self) -> None:
        self.shown: list[Progress] = []
        self.closed = False

    def update(self, progress: Progress) -> None:
        self.shown.append(progress)

    def close(self) -> None:
        self.closed = True


async def test_progress_follows_the_manual_clock(live: Api, fake: FakeServer) -> None:
    # 2 examples, batch 1, 1 epoch: 2 steps over 3 clock seconds, 1.5 s a step. Each
    # report moves the clock one step on, so every step is seen, in order.
    fake.progression = Progression.after_duration(3.0)
    op = await live(lambda c: c.tuned_models.create(BASE, PAIRS, epoch_count=1, batch_size=1))
    steps: list[int] = []

    async def advance_async(metadata: Any) -> None:
        steps.append(metadata.completed_steps)
        await fake.advance_async(1.5)

    def advance(metadata: Any) -> None:
        steps.append(metadata.completed_steps)
        fake.advance(1.5)

    on_progress: Any = advance_async if live.is_async else advance
    bar = Recorder()
    model = await live(lambda c: op.result(timeout=15, on_progress=on_progress, progress=bar))
    assert steps == [0, 1, 2]
    assert [(p.completed, p.total, p.description) for p in bar.shown] == [
        (float(step), 2.0, "steps") for step in steps
    ]
    assert bar.closed
    assert model.state == Tuned.ACTIVE and op.metadata.total_steps == 2


async def test_generate_text_goes_to_the_tuned_model(live: Api, fake: FakeServer) -> None:
    model = await tune(live, tuned_model_id="roman")
    # The tuned model's base only generates content, and the server says so for GenerateText.
    with pytest.raises(errors.InvalidArgument, match="generateText"):
        await live(lambda c: c.tuned_models.generate_text("roman", "III", temperature=0.1))
    request = fake.journal.last("GenerateText").request
    assert request.model == model.name == "tunedModels/roman"
    assert request.prompt.text == "III" and request.temperature == pytest.approx(0.1)


async def test_list_pages_and_get(live: Api, fake: FakeServer) -> None:
    names = [(await tune(live, display_name=f"model {i}")).name for i in range(5)]
    listed = await live.items(lambda c: c.tuned_models.list(page_size=2))
    assert [m.name for m in listed] == names
    fake.journal.assert_called("ListTunedModels", times=3)
    filtered = await live.items(lambda c: c.tuned_models.list(filter="model 3"))
    assert [m.name for m in filtered] == [names[3]]
    got = await live(lambda c: c.tuned_models.get(names[1].removeprefix("tunedModels/")))
    assert got.name == names[1] and got.display_name == "model 1"


async def test_update_sends_a_mask_of_the_given_fields(live: Api, fake: FakeServer) -> None:
    model = await tune(live, tuned_model_id="to-update", description="old")
    updated = await live(
        lambda c: c.tuned_models.update("to-update", display_name="New", temperature=0.5)
    )
    assert updated.display_name == "New" and updated.temperature == pytest.approx(0.5)
    assert updated.description == "old"
    request = fake.journal.last("UpdateTunedModel").request
    assert list(request.update_mask.paths) == ["display_name", "temperature"]
    assert request.tuned_model.name == model.name
    with pytest.raises(errors.UsageError, match="at least one"):
        await live(lambda c: c.tuned_models.update("to-update"))
    fake.journal.assert_called("UpdateTunedModel", times=1)


async def test_delete(live: Api) -> None:
    await tune(live, tuned_model_id="short-lived")
    await live(lambda c: c.tuned_models.delete("short-lived"))
    with pytest.raises(errors.NotFound):
        await live(lambda c: c.tuned_models.get("tunedModels/short-lived"))


async def test_create_is_resent_with_its_request_id(live: Api, fake: FakeServer) -> None:
    """CreateTunedModel carries a fresh request_id, so UNAVAILABLE is retried safely. The
    upstream flavours have no request_id: there the create is sent once, without one."""
    fake.script("CreateTunedModel").fail(grpc.StatusCode.UNAVAILABLE)
    if live.flavour != "textgen":
        with pytest.raises(errors.Unavailable):
            await live(lambda c: c.tuned_models.create(BASE, PAIRS))
        assert [call.request.request_id for call in fake.journal.calls()] == [""]
        return
    await live(lambda c: c.tuned_models.create(BASE, PAIRS))
    sent = [call.request.request_id for call in fake.journal.calls("CreateTunedModel")]
    assert len(sent) == 2 and sent[0] == sent[1] and len(sent[0]) == 36
    assert len(await live.items(lambda c: c.tuned_models.list())) == 1
    await live(lambda c: c.tuned_models.create(BASE, PAIRS, request_id=sent[0]))
    assert len(await live.items(lambda c: c.tuned_models.list())) == 1
    await live(lambda c: c.tuned_models.create(BASE, PAIRS))
    assert len(await live.items(lambda c: c.tuned_models.list())) == 2


async def test_learning_rate_options(live: Api, fake: FakeServer) -> None:
    with pytest.raises(errors.UsageError, match="not both"):
        live.client.tuned_models.create(
            BASE, PAIRS, learning_rate=0.01, learning_rate_multiplier=2.0
        )
    with pytest.raises(errors.UsageError, match="training example"):
        live.client.tuned_models.create(BASE, [("only one",)])
    fake.journal.assert_not_called("CreateTunedModel")
    model = await tune(live, learning_rate_multiplier=2.0, batch_size=1, top_k=5)
    hyper = fake.journal.last("CreateTunedModel").request.tuned_model.tuning_task.hyperparameters
    assert hyper.WhichOneof("learning_rate_option") == "learning_rate_multiplier"
    assert hyper.learning_rate_multiplier == pytest.approx(2.0) and hyper.batch_size == 1
    assert model.top_k == 5
