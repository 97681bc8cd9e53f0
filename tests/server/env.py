"""The app's grpc.aio server (every servicer, one Operations) on a ManualClock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import grpc
import pytest
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import any_pb2
from google.protobuf import message as pb_message
from google.rpc import error_details_pb2, status_pb2
from textgen.v1 import dataset_pb2, message_pb2, tuned_model_pb2
from textgen.v1 import model_service_pb2_grpc as model_grpc
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.v1 import text_generation_batch_service_pb2_grpc as batch_grpc
from textgen.v1 import tuned_model_service_pb2_grpc as tuned_grpc

from textgen.server.app import serve
from textgen.server.clock import ManualClock
from textgen.server.lro.operations import Operations
from textgen.server.state import IdGenerator, ServerState
from textgen.server.storage import DatasetRecord, RowBlock, TunedModelRecord
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.pacing import Progression, ProgressionPacer

ALICE, BOB = "alice", "bob"
KEYS = {"key-alice": ALICE, "key-bob": BOB}
TUNABLE = "models/gemini-1.0-pro-001"
TEXT_MODEL = "models/text-bison-001"
M = TypeVar("M", bound=pb_message.Message)


def as_user(principal: str) -> tuple[tuple[str, str], ...]:
    """Call metadata that authenticates as `principal`."""
    key = next(k for k, p in KEYS.items() if p == principal)
    return (("x-api-key", key),)


@dataclass
class Env:
    """Everything a test needs: the shared state, the pacer, the operations and the stubs."""

    state: ServerState
    clock: ManualClock
    pacer: ProgressionPacer
    operations: Operations
    ops: operations_pb2_grpc.OperationsStub
    batch: batch_grpc.TextGenerationBatchServiceAsyncStub
    tuned: tuned_grpc.TunedModelServiceAsyncStub
    models: model_grpc.ModelServiceAsyncStub

    async def get(self, name: str, user: str = ALICE) -> operations_pb2.Operation:
        request = operations_pb2.GetOperationRequest(name=name)
        result: operations_pb2.Operation = await self.ops.GetOperation(
            request, metadata=as_user(user)
        )
        return result

    async def complete_batch(
        self, request: batch_pb2.BatchCompletionRequest, user: str = ALICE
    ) -> operations_pb2.Operation:
        result: operations_pb2.Operation = await self.batch.Completion(
            request, metadata=as_user(user)
        )
        return result

    async def prompts(self, texts: Sequence[str | list[str]], owner: str = ALICE) -> str:
        """A prompt dataset holding `texts` (a list is a conversation); returns its id."""
        store = self.state.stores.datasets
        dataset_id = f"prompts-{len(await store.list())}"
        rows = []
        for item in texts:
            if isinstance(item, str):
                prompt = dataset_pb2.DatasetPrompt(text=item)
            else:
                messages = [message_pb2.Message(content=text) for text in item]
                prompt = dataset_pb2.DatasetPrompt(
                    messages=dataset_pb2.MessageList(messages=messages)
                )
            rows.append(prompt)
        dataset = dataset_pb2.Dataset(
            name=f"datasets/{dataset_id}", kind=dataset_pb2.Dataset.KIND_PROMPTS
        )
        assert await store.create(DatasetRecord(dataset, owner), [RowBlock.of_prompts(rows)])
        return dataset_id

    async def dataset(self, name: str, owner: str = ALICE) -> DatasetRecord:
        """`owner`'s stored dataset `name` (`datasets/...`)."""
        found = await self.state.stores.datasets.get(owner, name)
        assert found is not None, f"no dataset {name}"
        return found.record

    async def tuned_model(self, name: str, owner: str = ALICE) -> TunedModelRecord:
        """`owner`'s stored tuned model `name` (`tunedModels/...`)."""
        found = await self.state.stores.tuned_models.get(owner, name)
        assert found is not None, f"no tuned model {name}"
        return found.record

    def tuned_record(
        self,
        model_id: str,
        examples: int = 10,
        *,
        epochs: int = 2,
        batch_size: int = 4,
        owner: str = ALICE,
    ) -> TunedModelRecord:
        """A tuned model as CreateTunedModel makes it, for start_tuning to store."""
        pairs = [(f"question {i}", f"answer {i}") for i in range(examples)]
        model = tuned_model_pb2.TunedModel(
            name=f"tunedModels/{model_id}",
            base_model=TUNABLE,
            state=tuned_model_pb2.TunedModel.CREATING,
            tuning_task=tuned_model_pb2.TuningTask(
                hyperparameters=tuned_model_pb2.Hyperparameters(
                    epoch_count=epochs, batch_size=batch_size
                ),
            ),
        )
        base = self.state.base_models()[TUNABLE]
        return TunedModelRecord(model=model, owner=owner, base_model=base, examples=tuple(pairs))


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = ManualClock()
    state = ServerState(engine=FakeEngine(seed=0), clock=clock, ids=IdGenerator(0), api_keys=KEYS)
    pacer = ProgressionPacer(clock, Progression.after_duration(3.0))
    operations = Operations(clock, state.stores.operations, pacer=pacer)
    running = await serve(state, operations=operations, health=False, reflection=False)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Env(
            state,
            clock,
            pacer,
            operations,
            operations_pb2_grpc.OperationsStub(channel),  # type: ignore[no-untyped-call]
            # mypy-protobuf types a stub by its class, not by its channel: on a grpc.aio
            # channel it is the AsyncStub.
            cast(
                "batch_grpc.TextGenerationBatchServiceAsyncStub",
                batch_grpc.TextGenerationBatchServiceStub(channel),
            ),
            cast(
                "tuned_grpc.TunedModelServiceAsyncStub", tuned_grpc.TunedModelServiceStub(channel)
            ),
            cast("model_grpc.ModelServiceAsyncStub", model_grpc.ModelServiceStub(channel)),
        )
    finally:
        await channel.close()
        await running.stop(0)


async def eventually(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Yield to the loop until `condition` holds (a synchronisation aid, not an assertion
    about timing); fails only if it never does."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not condition():
        assert loop.time() < end, "condition never became true"
        await asyncio.sleep(0.005)


def status_of(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status an aborted call carried in its trailers."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            assert isinstance(value, bytes)  # the values of "-bin" keys
            return status_pb2.Status.FromString(value)
    raise AssertionError("no rich status in the trailers")


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The field paths of the BadRequest in an INVALID_ARGUMENT error."""
    for detail in status_of(error).details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            return [violation.field for violation in bad_request.field_violations]
    return []


def unpack(holder: any_pb2.Any, message: M) -> M:
    """Unpack an Any into `message` (asserting the type) and return it."""
    assert holder.Unpack(message)
    return message
