"""client.batches (and models.batch_embed_contents) against the real servicers, both shells."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import code_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

from tests.client.conftest import Api, advance
from textgen import AsyncBatchJob, BatchJob, BatchStatus, errors
from textgen._calls import Progress
from textgen.testing.fake_server import FakeServer
from textgen.testing.pacing import Progression

TEXT_MODEL = "text-bison-001"  # rates HARM_CATEGORY_VIOLENCE, blocked by default
HARMFUL = "unsafe:violence:high"


FAKE_SERVER = {"clock": "manual"}
PROGRESSION = Progression.immediate()
APIS = ("textgen", "generativelanguage", "yandex")


async def results(live: Api, job: Any) -> list[Any]:
    return await live.items(lambda c: job.results())


async def test_batch_from_rows_reports_each_row(live: Api, fake: FakeServer) -> None:
    rows = ["first", HARMFUL, [{"role": "user", "content": "third"}]]
    job = await live(lambda c: c.batches.create(TEXT_MODEL, rows=rows, temperature=0.2))
    assert isinstance(job, AsyncBatchJob if live.is_async else BatchJob)
    assert job.name == f"operations/{job.task_id}"
    done = await live(lambda c: job.wait(timeout=15))
    assert done is job and job.done and not job.cancelled()
    assert job.status == BatchStatus.COMPLETED
    assert (job.completed_batches, job.total_batches) == (1, 1)
    read = await results(live, job)
    assert [row.index for row in read] == [0, 1, 2]
    assert [row.input_text for row in read] == ["first", HARMFUL, "third"]
    assert [row.ok for row in read] == [True, False, True]
    assert read[0].completion and read[2].completion and read[1].completion is None
    assert read[1].error.code == code_pb2.INVALID_ARGUMENT
    assert "blocked for safety" in read[1].error.message
    # The rows went up as a dataset first, and the task names that dataset.
    created = fake.journal.assert_called("CreateDataset", times=1)
    completion = fake.journal.assert_called("Completion", times=1)[0].request
    assert created[0].request.rows[1].text == HARMFUL
    assert completion.model_uri == f"models/{TEXT_MODEL}"
    assert completion.completion_options.temperature.value == pytest.approx(0.2)
    response = await live(lambda c: job.result())
    assert f"datasets/{response.result_dataset_id}" == job.result_dataset
    dataset = await live(lambda c: c.datasets.get(job.result_dataset))
    assert dataset.source_task_id == job.task_id


async def test_batch_from_a_dataset(live: Api, fake: FakeServer) -> None:
    await live(lambda c: c.datasets.create([f"prompt {i}" for i in range(5)], dataset_id="src"))
    job = await live(lambda c: c.batches.create("gemini-1.5-flash", dataset="src"))
    assert fake.journal.last("Completion").request.source_dataset_id == "src"
    await live(lambda c: job.wait(timeout=15))
    read = await results(live, job)
    assert [row.input_text for row in read] == [f"prompt {i}" for i in range(5)]
    assert all(row.ok and row.completion_token_count > 0 for row in read)
    again = await live.items(lambda c: c.datasets.read(job.result_dataset))
    assert [row.completion for row in again] == [row.completion for row in read]


async def test_status_and_batch_counts_advance(live: Api, fake: FakeServer) -> None:
    # One stage per poll: PENDING, IN_PROGRESS, then one per batch of 20 rows.
    fake.progression = Progression.after_polls(1)
    job = await live(lambda c: c.batches.create(TEXT_MODEL, rows=[f"r{i}" for i in range(45)]))
    seen = [(job.status, job.completed_batches, job.total_batches)]
    while not job.done:
        await live(lambda c: job.refresh())
        seen.append((job.status, job.completed_batches, job.total_batches))
    assert seen == [
        (BatchStatus.CREATED, 0, 3),
        (BatchStatus.PENDING, 0, 3),
        (BatchStatus.IN_PROGRESS, 0, 3),
        (BatchStatus.IN_PROGRESS, 1, 3),
        (BatchStatus.IN_PROGRESS, 2, 3),
        (BatchStatus.COMPLETED, 3, 3),
    ]
    assert len(await results(live, job)) == 45


class Recorder:
    def __init__(self) -> None:
        self.shown: list[Progress] = []

    def update(self, progress: Progress) -> None:
        self.shown.append(progress)

    def close(self) -> None:
        pass


async def test_progress_shows_batches(live: Api, fake: FakeServer) -> None:
    fake.progression = Progression.after_duration(3.0)
    job = await live(lambda c: c.batches.create(TEXT_MODEL, rows=[f"r{i}" for i in range(25)]))
    with pytest.raises(errors.UsageError, match="still running"):
        job.results()
    await advance(live, fake, 3.0)
    bar = Recorder()
    statuses: list[int] = []

    def record(metadata: Any) -> None:
        statuses.append(metadata.task_status)

    await live(lambda c: job.wait(timeout=15, progress=bar, on_progress=record))
    assert bar.shown[-1] == Progress(2.0, 2.0, "batches")
    assert statuses[-1] == BatchStatus.COMPLETED


async def test_json_schema_answers_parse(live: Api, fake: FakeServer) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    job = await live(
        lambda c: c.batches.create(
            TEXT_MODEL, rows=["one", "two"], json_schema=schema, reasoning_mode="enabled_hidden"
        )
    )
    await live(lambda c: job.wait(timeout=15))
    parsed = [row.json() for row in await results(live, job)]
    assert all(isinstance(value, dict) and isinstance(value["n"], int) for value in parsed)
    request = fake.journal.last("Completion").request
    assert request.json_schema.schema.fields["type"].string_value == "object"
    mode = request.completion_options.reasoning_options.mode
    assert mode == batch_pb2.ReasoningOptions.ENABLED_HIDDEN


async def test_bad_arguments_are_refused_before_sending(live: Api, fake: FakeServer) -> None:
    batches = live.client.batches
    with pytest.raises(errors.UsageError, match="exactly one"):
        batches.create(TEXT_MODEL)
    with pytest.raises(errors.UsageError, match="exactly one"):
        batches.create(TEXT_MODEL, dataset="d", rows=["x"])
    with pytest.raises(errors.UsageError, match="not both"):
        batches.create(TEXT_MODEL, dataset="d", json_object=True, json_schema={"type": "object"})
    with pytest.raises(errors.UsageError, match="'disabled', 'enabled_hidden'"):
        batches.create(TEXT_MODEL, dataset="d", reasoning_mode="loud")
    fake.journal.assert_not_called("Completion")


async def test_cancel(live: Api, fake: FakeServer) -> None:
    fake.progression = Progression.after_duration(3.0)  # the manual clock never moves here
    job = await live(lambda c: c.batches.create(TEXT_MODEL, rows=["a", "b"]))
    assert not job.done
    await live(lambda c: job.cancel())
    assert job.done and job.cancelled()
    assert job.status == BatchStatus.CANCELED and job.result_dataset is None
    with pytest.raises(errors.OperationError) as caught:
        await live(lambda c: job.result())
    assert caught.value.code == grpc.StatusCode.CANCELLED
    with pytest.raises(errors.OperationError):
        job.results()


async def test_get_and_list(live: Api, fake: FakeServer) -> None:
    first = await live(lambda c: c.batches.create(TEXT_MODEL, rows=["a"]))
    second = await live(lambda c: c.batches.create(TEXT_MODEL, rows=["b"]))
    by_id = await live(lambda c: c.batches.get(first.task_id))
    by_name = await live(lambda c: c.batches.get(second.name))
    assert (by_id.name, by_name.name) == (first.name, second.name)
    assert by_id.status == BatchStatus.COMPLETED and by_id.total_batches == 1
    # A tuning operation lives under tunedModels/..., so it is not a batch.
    await live(lambda c: c.tuned_models.create("gemini-1.0-pro-001", [("q", "a")]))
    listed = await live.items(lambda c: c.batches.list())
    assert sorted(job.name for job in listed) == sorted([first.name, second.name])
    assert all(isinstance(job, AsyncBatchJob if live.is_async else BatchJob) for job in listed)
    assert fake.journal.last("ListOperations").request.name == "operations"
    assert await live.items(lambda c: c.batches.list(done=False)) == []


async def test_completion_is_resent_with_its_request_id(live: Api, fake: FakeServer) -> None:
    """Completion carries a fresh request_id, so UNAVAILABLE is retried: one task results."""
    await live(lambda c: c.datasets.create(["a"], dataset_id="once"))
    fake.script("Completion").fail(grpc.StatusCode.UNAVAILABLE)
    job = await live(lambda c: c.batches.create(TEXT_MODEL, dataset="once"))
    sent = [call.request.request_id for call in fake.journal.calls("Completion")]
    assert len(sent) == 2 and sent[0] == sent[1] and len(sent[0]) == 36
    listed = await live.items(lambda c: c.batches.list())
    assert [listed_job.name for listed_job in listed] == [job.name]
    # A create repeated by the application with the same id starts nothing new.
    again = await live(lambda c: c.batches.create(TEXT_MODEL, dataset="once", request_id=sent[0]))
    assert again.name == job.name
    fresh = await live(lambda c: c.batches.create(TEXT_MODEL, dataset="once"))
    assert fresh.name != job.name


async def test_batch_embed_contents_in_chunks(live: Api, fake: FakeServer) -> None:
    model = "text-embedding-004"
    contents = [f"text {i}" for i in range(150)]
    vectors = await live(lambda c: c.models.batch_embed_contents(model, contents))
    assert len(vectors) == 150
    single = await live(lambda c: c.models.embed_content(model, "text 7"))
    assert vectors[7] == pytest.approx(single)
    calls = fake.journal.assert_called("BatchEmbedContents", times=2)
    assert sorted(len(call.request.requests) for call in calls) == [50, 100]
    small = await live(
        lambda c: c.models.batch_embed_contents(model, ["a", "b"], output_dimensionality=8)
    )
    assert [len(v) for v in small] == [8, 8]
