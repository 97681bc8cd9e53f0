"""The Operations lifecycle over its store: a finished operation keeps only its proto, and
reads, waits and cancels stay right before and after the end."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any, cast

from google.protobuf.empty_pb2 import Empty
from google.rpc import code_pb2, status_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

from tests.server.storage.conftest import Yielding
from textgen.server.clock import ManualClock
from textgen.server.lro.operations import Operations
from textgen.server.storage import MemoryOperationStore, OperationStore

ALICE = "alice"


class Job:
    """A job that finishes its operation when told to."""

    def __init__(self, operations: Operations, name: str) -> None:
        self.operations, self.name = operations, name
        self.go = asyncio.Event()
        self.cancelled = False

    async def run(self) -> None:
        await self.go.wait()
        await self.operations.complete(self.name, Empty())

    async def on_cancel(self) -> None:
        self.cancelled = True


async def started(operations: Operations, name: str) -> tuple[Job, asyncio.Task[None]]:
    await operations.create(name, ALICE, Empty())
    job = Job(operations, name)
    return job, operations.start(name, job.run(), on_cancel=job.on_cancel)


async def test_a_finished_operation_keeps_only_its_proto() -> None:
    store = MemoryOperationStore()
    operations = Operations(ManualClock(), store)
    job, task = await started(operations, "operations/a")
    job_ref, task_ref = weakref.ref(job), weakref.ref(task)
    waiter = asyncio.ensure_future(operations.wait("operations/a", ALICE, timeout=None))
    await asyncio.sleep(0)
    assert operations.waiting("operations/a") == 1
    job.go.set()
    finished = await waiter
    assert finished.done
    await asyncio.wait({task})
    del job, task
    gc.collect()
    assert job_ref() is None and task_ref() is None  # the job and its task are gone
    assert operations.waiting("operations/a") == 0
    [kept] = await store.list()
    assert kept.record.operation.done


async def test_reads_and_waits_after_the_end() -> None:
    operations = Operations(ManualClock())
    job, task = await started(operations, "operations/a")
    job.go.set()
    await asyncio.wait({task})
    assert (await operations.get("operations/a", ALICE)).done
    assert (await operations.poll("operations/a", ALICE)).done
    # A wait that starts after the end returns at once, with the finished operation.
    waited = await asyncio.wait_for(operations.wait("operations/a", ALICE, timeout=None), 5)
    assert waited.done and waited.HasField("response")
    # Cancelling a finished operation changes nothing.
    again = await operations.cancel("operations/a", ALICE)
    assert again.HasField("response") and not again.HasField("error")
    assert not job.cancelled


async def test_a_wait_times_out_on_a_running_operation() -> None:
    operations = Operations(ManualClock())
    job, task = await started(operations, "operations/a")
    waited = await operations.wait("operations/a", ALICE, timeout=0.01)
    assert not waited.done
    job.go.set()
    await asyncio.wait({task})


async def test_cancel_before_the_job_starts_still_tells_the_runner() -> None:
    operations = Operations(ManualClock())
    job, _ = await started(operations, "operations/a")
    cancelled = await operations.cancel("operations/a", ALICE)  # the task never ran
    assert cancelled.done and cancelled.error.code == code_pb2.CANCELLED
    assert job.cancelled
    assert operations.waiting("operations/a") == 0


async def test_a_job_that_ends_without_finishing_fails_its_operation() -> None:
    operations = Operations(ManualClock())
    await operations.create("operations/a", ALICE, Empty())

    async def forgetful() -> None:
        await asyncio.sleep(0)

    await asyncio.wait({operations.start("operations/a", forgetful())})
    operation = await operations.get("operations/a", ALICE)
    assert operation.done and operation.error.code == code_pb2.INTERNAL


async def test_deleted_while_running_then_finished() -> None:
    store = MemoryOperationStore()
    operations = Operations(ManualClock(), store)
    job, task = await started(operations, "operations/a")
    waiter = asyncio.ensure_future(operations.wait("operations/a", ALICE, timeout=None))
    await asyncio.sleep(0)
    await operations.delete("operations/a", ALICE)
    assert not (await waiter).done  # the waiter returns the operation as it last was
    job.go.set()
    await asyncio.wait({task})
    assert await store.list() == []  # finishing a deleted operation does not bring it back
    assert operations.waiting("operations/a") == 0


async def test_metadata_updates_and_finishing_are_compare_and_set() -> None:
    store = MemoryOperationStore()
    operations = Operations(ManualClock(), store)
    await operations.create("operations/a", ALICE, Empty())
    assert await operations.update_metadata("operations/a", Empty())
    assert await operations.complete("operations/a", Empty())
    assert not await operations.fail("operations/a", status_pb2.Status(code=code_pb2.INTERNAL))
    stored = await store.get("operations/a")
    assert stored is not None and stored.version == 3  # created, updated, finished
    assert not await operations.update_metadata("operations/none", Empty())


class SlowReads:
    """An operation store whose reads come back `turns` loop turns after they were made,
    while writes land at once: a reader can hold an answer the writers have moved past."""

    def __init__(self, turns: int) -> None:
        self._store, self._turns = MemoryOperationStore(), turns

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            if name == "get":
                for _ in range(self._turns):
                    await asyncio.sleep(0)
            return result

        return call


async def test_a_wait_sees_an_end_that_came_while_it_read() -> None:
    # The job finishes while the wait is still reading the operation: the wait must answer
    # with the finished operation, not with what its read saw.
    for turns in range(1, 6):
        for head_start in range(20):
            operations = Operations(ManualClock(), cast(OperationStore, SlowReads(turns)))
            job, task = await started(operations, "operations/a")
            job.go.set()
            for _ in range(head_start):
                await asyncio.sleep(0)
            waited = await operations.wait("operations/a", ALICE, timeout=5.0)
            assert waited.done, (turns, head_start)
            await asyncio.wait({task})


async def test_with_a_store_that_yields_a_cancel_marks_the_runner() -> None:
    operations = Operations(ManualClock(), cast(OperationStore, Yielding(MemoryOperationStore())))
    job, task = await started(operations, "operations/a")
    await asyncio.sleep(0)
    cancelled = await operations.cancel("operations/a", ALICE)
    assert cancelled.done and cancelled.error.code == code_pb2.CANCELLED
    assert job.cancelled and task.done()


async def test_an_operation_packs_its_payloads_as_its_flavour_names_them() -> None:
    store = MemoryOperationStore()
    operations = Operations(ManualClock(), store)
    gl = "google.ai.generativelanguage.v1beta"
    metadata = tuned_model_service_pb2.CreateTunedModelMetadata(tuned_model="tunedModels/x")
    created = await operations.create("operations/g", ALICE, metadata, api="generativelanguage")
    assert created.metadata.type_url == f"type.googleapis.com/{gl}.CreateTunedModelMetadata"
    await operations.update_metadata("operations/g", metadata)
    await operations.complete("operations/g", tuned_model_pb2.TunedModel(name="tunedModels/x"))
    done = await operations.get("operations/g", ALICE)
    assert done.metadata.type_url == created.metadata.type_url
    assert done.response.type_url == f"type.googleapis.com/{gl}.TunedModel"
    assert tuned_model_pb2.TunedModel.FromString(done.response.value).name == "tunedModels/x"
    stored = await store.get("operations/g")
    assert stored is not None and stored.record.api == "generativelanguage"


async def test_outside_an_upstream_call_an_operation_uses_our_type_urls() -> None:
    operations = Operations(ManualClock(), MemoryOperationStore())
    # Outside any call (a job started by the server itself): our own type URLs.
    created = await operations.create("operations/t", ALICE, Empty())
    assert created.metadata.type_url == "type.googleapis.com/google.protobuf.Empty"
