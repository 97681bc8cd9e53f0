"""The batch job: stages and pacing, rows in flight, results in order with their own errors,
and what ends it early. The request checks are in tests/server/services."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import json_format, struct_pb2
from google.rpc import code_pb2
from textgen.v1 import dataset_pb2, model_service_pb2, safety_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

from tests.server.env import (
    ALICE,
    TEXT_MODEL,
    TUNABLE,
    Env,
    as_user,
    unpack,
)
from textgen.server.engine import GenerationInput, GenerationOutput
from textgen.server.jobs.batch import ROWS_PER_BATCH
from textgen.server.jobs.tuning import start_tuning
from textgen.testing.fake_engine import harm
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.pacing import Progression

Status = batch_pb2.BatchInferenceTaskStatus
Request = batch_pb2.BatchCompletionRequest
Metadata = batch_pb2.BatchCompletionMetadata


def metadata_of(operation: operations_pb2.Operation) -> Metadata:
    return unpack(operation.metadata, Metadata())


async def results_of(
    env: Env, operation: operations_pb2.Operation
) -> list[dataset_pb2.DatasetResult]:
    response = unpack(operation.response, batch_pb2.BatchCompletionResponse())
    assert response.task_status == Status.COMPLETED
    record = await env.dataset(f"datasets/{response.result_dataset_id}")
    rows = await env.state.stores.datasets.read_rows(record.owner, record.name)
    assert record.dataset.kind == dataset_pb2.Dataset.KIND_RESULTS
    assert record.dataset.source_task_id == response.task_id
    assert record.dataset.row_count == len(rows)
    assert [row.index for row in rows] == list(range(len(rows)))
    return [row.result for row in rows]


def schema(value: Mapping[str, Any]) -> batch_pb2.JsonSchema:
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(value), struct)
    return batch_pb2.JsonSchema(schema=struct)


async def run_immediately(env: Env, request: Request) -> operations_pb2.Operation:
    env.pacer.progression = Progression.immediate()
    created = await env.complete_batch(request)
    operation = await env.get(created.name)
    assert operation.done
    return operation


async def test_status_moves_through_every_stage_per_poll(env: Env) -> None:
    env.pacer.progression = Progression.after_polls()
    dataset_id = await env.prompts([f"prompt {i}" for i in range(45)])
    created = await env.complete_batch(Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id))
    assert created.name.startswith("operations/") and not created.done
    first = metadata_of(created)
    assert (first.task_status, first.completed_batches, first.total_batches) == (
        Status.CREATED,
        0,
        3,
    )
    seen = []
    for _ in range(5):
        operation = await env.get(created.name)
        metadata = metadata_of(operation)
        seen.append((metadata.task_status, metadata.completed_batches, operation.done))
    assert seen == [
        (Status.PENDING, 0, False),
        (Status.IN_PROGRESS, 0, False),
        (Status.IN_PROGRESS, 1, False),
        (Status.IN_PROGRESS, 2, False),
        (Status.COMPLETED, 3, True),
    ]
    assert len(await results_of(env, operation)) == 45


async def test_duration_progression_follows_the_clock(env: Env) -> None:
    env.pacer.progression = Progression.after_duration(4.0)  # 4 stages of 1 s: 2 batches
    dataset_id = await env.prompts([f"prompt {i}" for i in range(ROWS_PER_BATCH + 1)])
    created = await env.complete_batch(Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id))
    statuses = []
    for _ in range(4):
        await env.clock.advance(1.0)
        metadata = metadata_of(await env.get(created.name))
        statuses.append((metadata.task_status, metadata.completed_batches))
    assert statuses == [
        (Status.PENDING, 0),
        (Status.IN_PROGRESS, 0),
        (Status.IN_PROGRESS, 1),
        (Status.COMPLETED, 2),
    ]
    assert (await env.get(created.name)).done


async def test_immediate_progression_is_done_at_first_look(env: Env) -> None:
    dataset_id = await env.prompts(["one", "two"])
    operation = await run_immediately(
        env, Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id)
    )
    assert metadata_of(operation).task_status == Status.COMPLETED


async def test_get_model_is_answered_while_a_large_immediate_batch_runs(env: Env) -> None:
    """The job gives the loop back between rows: other calls do not wait for it to end."""
    env.pacer.progression = Progression.immediate()
    batches = 100
    dataset_id = await env.prompts([f"prompt {i}" for i in range(batches * ROWS_PER_BATCH)])
    created = await env.complete_batch(Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id))
    assert not (await env.operations.get(created.name, ALICE)).done  # it did not run in one go
    model = await env.models.GetModel(
        model_service_pb2.GetModelRequest(name=TEXT_MODEL), metadata=as_user(ALICE)
    )
    assert model.name == TEXT_MODEL
    during = await env.operations.get(created.name, ALICE)
    assert not during.done, "GetModel waited for the whole batch"
    assert metadata_of(during).completed_batches < batches
    cancelled = await env.operations.cancel(created.name, ALICE)
    assert cancelled.error.code == code_pb2.CANCELLED


class OutOfOrderEngine(FakeEngine):
    """Later rows finish first (each answer waits fewer loop turns than the one before), and
    the most rows in flight at once is recorded."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.in_flight = self.most_in_flight = 0

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            for _ in range(100 - int(request.prompt_text().split()[-1])):
                await asyncio.sleep(0)
            return await super().generate(request)
        finally:
            self.in_flight -= 1


async def test_rows_run_concurrently_up_to_the_setting_and_keep_input_order(env: Env) -> None:
    engine = OutOfOrderEngine()
    env.state.engine = engine
    env.state.batch_concurrency = 3
    texts = [f"prompt {i}" for i in range(2 * ROWS_PER_BATCH + 5)]
    operation = await run_immediately(
        env, Request(model_uri=TEXT_MODEL, source_dataset_id=await env.prompts(texts))
    )
    results = await results_of(env, operation)
    assert [result.input.text for result in results] == texts
    assert all(result.HasField("completion") for result in results)
    assert engine.most_in_flight == 3


async def test_result_rows_in_order_with_their_own_errors(env: Env) -> None:
    too_long = "word " * 9000  # text-bison-001 reads at most 8196 tokens
    blocked = f"tell me {harm.marker(safety_pb2.HARM_CATEGORY_TOXICITY, 'high')}"
    dataset_id = await env.prompts(
        ["first prompt", too_long, ["hello", "hi there", "how are you?"], blocked, "last"]
    )
    operation = await run_immediately(
        env, Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id)
    )
    results = await results_of(env, operation)
    assert [result.WhichOneof("outcome") for result in results] == [
        "completion",
        "error",
        "completion",
        "error",
        "completion",
    ]
    assert results[0].input.text == "first prompt" and results[4].input.text == "last"
    assert results[2].input.messages.messages[-1].content == "how are you?"
    assert results[1].error.code == code_pb2.INVALID_ARGUMENT
    assert "input_token_limit" in results[1].error.message
    assert results[3].error.code == code_pb2.INVALID_ARGUMENT
    assert "HARM_CATEGORY_TOXICITY" in results[3].error.message
    assert results[0].input_token_count == 2
    assert all(r.completion_token_count > 0 for r in results if r.HasField("completion"))


async def test_json_object_outputs_are_json_objects(env: Env) -> None:
    dataset_id = await env.prompts(["a person as JSON", "a city as JSON"])
    operation = await run_immediately(
        env, Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id, json_object=True)
    )
    for result in await results_of(env, operation):
        assert isinstance(json.loads(result.completion), dict)


async def test_json_schema_outputs_conform(env: Env) -> None:
    wanted = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "age", "tags"],
    }
    dataset_id = await env.prompts(["describe someone", "describe someone else"])
    operation = await run_immediately(
        env,
        Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id, json_schema=schema(wanted)),
    )
    for result in await results_of(env, operation):
        value = json.loads(result.completion)
        assert isinstance(value["name"], str)
        assert isinstance(value["age"], int)
        assert all(isinstance(tag, str) for tag in value["tags"])


async def test_an_active_tuned_model_can_run_a_batch(env: Env) -> None:
    record = env.tuned_record("batcher")
    await start_tuning(env.state, env.operations, record)
    await env.clock.advance(3.0)
    dataset_id = await env.prompts(["question 1"])
    operation = await run_immediately(
        env, Request(model_uri=record.model.name, source_dataset_id=dataset_id)
    )
    assert (await results_of(env, operation))[0].completion == "answer 1"


async def test_result_dataset_belongs_to_the_caller(env: Env) -> None:
    operation = await run_immediately(
        env, Request(model_uri=TUNABLE, source_dataset_id=await env.prompts(["x"]))
    )
    response = unpack(operation.response, batch_pb2.BatchCompletionResponse())
    assert (await env.dataset(f"datasets/{response.result_dataset_id}")).owner == ALICE


async def test_deleting_the_source_mid_run_fails_the_batch(env: Env) -> None:
    # Rows are read from the store a batch at a time, so a source deleted meanwhile ends
    # the job (FAILED) instead of answering only some of its rows.
    dataset_id = await env.prompts([f"prompt {i}" for i in range(3 * ROWS_PER_BATCH)])
    created = await env.complete_batch(Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id))
    await env.clock.advance(2.0)  # 0.6 s a stage: PENDING, IN_PROGRESS, the first batch
    assert metadata_of(await env.get(created.name)).completed_batches == 1
    await env.state.stores.datasets.delete(ALICE, f"datasets/{dataset_id}")
    await env.clock.advance(3.0)
    operation = await env.get(created.name)
    assert operation.done and operation.error.code == code_pb2.INTERNAL
    assert metadata_of(operation).task_status == Status.FAILED
