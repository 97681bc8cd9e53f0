"""Operation[T, M] and client.operations against a stub Operations service."""

from __future__ import annotations

import threading
import time
from typing import Any

import grpc
import pytest
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2
from google.rpc import error_details_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

from tests.client.conftest import Api
from tests.client.stub_server import StubServer, abort, status
from textgen import _waiting, errors
from textgen._calls import LongRunning, Progress, call
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources._base import Resource, async_operation, sync_operation

Meta = tuned_model_service_pb2.CreateTunedModelMetadata
Tuned = tuned_model_pb2.TunedModel
NAME = "tunedModels/t1/operations/o1"


class Calls:
    @staticmethod
    def find(name: str) -> LongRunning[Tuned, Meta]:
        return LongRunning(
            call(_waiting.GET_OPERATION, operations_pb2.GetOperationRequest(name=name)),
            Tuned,
            Meta,
        )


class Jobs(Resource[SyncRunner]):
    find = sync_operation(Calls.find)


class AsyncJobs(Resource[AsyncRunner]):
    find = async_operation(Calls.find)


def jobs(api: Api) -> Any:
    return (AsyncJobs if api.is_async else Jobs)(api.client._runner)


def _pack(message: Any) -> any_pb2.Any:
    holder = any_pb2.Any()
    holder.Pack(message)
    return holder


class FakeJob:
    """An operation that advances one step per poll and finishes after `steps`."""

    def __init__(self, steps: int = 3, *, fail: bool = False) -> None:
        self.steps, self.fail = steps, fail
        self.done_steps = 0
        self.cancelled = False
        self.lock = threading.Lock()

    def proto(self) -> operations_pb2.Operation:
        op = operations_pb2.Operation(
            name=NAME,
            metadata=_pack(Meta(total_steps=self.steps, completed_steps=self.done_steps)),
        )
        if self.cancelled:
            op.done = True
            op.error.CopyFrom(status(grpc.StatusCode.CANCELLED, "cancelled"))
        elif self.done_steps >= self.steps:
            op.done = True
            if self.fail:
                bad = error_details_pb2.ErrorInfo(reason="DIVERGED")
                op.error.CopyFrom(status(grpc.StatusCode.ABORTED, "loss diverged", bad))
            else:
                op.response.CopyFrom(_pack(Tuned(name="tunedModels/t1")))
        return op

    def advance(self, request: Any, context: Any) -> operations_pb2.Operation:
        with self.lock:
            if not self.cancelled:
                self.done_steps = min(self.done_steps + 1, self.steps)
            return self.proto()

    def get(self, request: Any, context: Any) -> operations_pb2.Operation:
        with self.lock:
            return self.proto()

    def cancel(self, request: Any, context: Any) -> empty_pb2.Empty:
        with self.lock:
            self.cancelled = True
        return empty_pb2.Empty()

    def install(self, stub: StubServer, *, wait: bool = True) -> None:
        stub.script(_waiting.GET_OPERATION, self.get)
        stub.script(_waiting.CANCEL_OPERATION, self.cancel)
        if wait:
            stub.script(_waiting.WAIT_OPERATION, self.advance)
        else:
            stub.script(
                _waiting.WAIT_OPERATION,
                lambda r, c: abort(c, grpc.StatusCode.UNIMPLEMENTED, "no wait"),
            )
            stub.script(_waiting.GET_OPERATION, self.advance)

    def install_for(self, api: Api, stub: StubServer) -> None:
        """As `install`, for the client's flavour: where the flavour has no WaitOperation,
        the client polls GetOperation, so each GetOperation after the first one advances."""
        if api.flavour == "textgen":
            self.install(stub)
            return
        stub.script(_waiting.GET_OPERATION, self.get, self.advance)
        stub.script(_waiting.CANCEL_OPERATION, self.cancel)


APIS = ("textgen", "generativelanguage", "yandex")


@pytest.mark.flavours("textgen")
async def test_result_long_polls_and_reports_progress(api: Api, stub: StubServer) -> None:
    job = FakeJob(3)
    job.install(stub)
    op = await api(lambda c: jobs(api).find(NAME))
    assert op.name == NAME and not op.done
    seen: list[int] = []
    result = await api(
        lambda c: op.result(timeout=10, on_progress=lambda m: seen.append(m.completed_steps))
    )
    assert result == Tuned(name="tunedModels/t1")
    assert isinstance(op.metadata, Meta)
    assert seen == [0, 1, 2, 3]
    assert op.done and not op.cancelled()
    waits = stub.calls(_waiting.WAIT_OPERATION)
    assert len(waits) == 3
    # Somebody watches progress, so each poll is short enough to show it promptly.
    held = [w.request.timeout.seconds + w.request.timeout.nanos / 1e9 for w in waits]
    assert all(0 < hold <= _waiting.PROGRESS_POLL for hold in held)


@pytest.mark.flavours("textgen")
async def test_result_without_progress_uses_long_polls(api: Api, stub: StubServer) -> None:
    FakeJob(2).install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    await api(lambda c: op.result(timeout=60))
    waits = stub.calls(_waiting.WAIT_OPERATION)
    held = [w.request.timeout.seconds + w.request.timeout.nanos / 1e9 for w in waits]
    assert held and all(_waiting.PROGRESS_POLL < hold <= _waiting.LONG_POLL for hold in held)


@pytest.mark.flavours("textgen")
async def test_falls_back_to_get_operation(api: Api, stub: StubServer) -> None:
    job = FakeJob(3)
    job.install(stub, wait=False)
    op = await api(lambda c: jobs(api).find(NAME))
    seen: list[int] = []
    result = await api(lambda c: op.result(on_progress=lambda m: seen.append(m.completed_steps)))
    assert result.name == "tunedModels/t1"
    assert len(stub.calls(_waiting.WAIT_OPERATION)) == 1
    assert seen[-1] == 3


async def test_failed_operation_raises_operation_error(api: Api, stub: StubServer) -> None:
    FakeJob(1, fail=True).install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    with pytest.raises(errors.OperationError) as caught:
        await api(lambda c: op.result())
    assert caught.value.code == grpc.StatusCode.ABORTED
    assert caught.value.reason == "DIVERGED"
    assert caught.value.status.message == "loss diverged"


async def test_cancel(api: Api, stub: StubServer) -> None:
    FakeJob(5).install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    await api(lambda c: op.cancel())
    assert op.cancelled() and op.done
    with pytest.raises(errors.OperationError) as caught:
        await api(lambda c: op.result())
    assert caught.value.code == grpc.StatusCode.CANCELLED


async def test_refresh(api: Api, stub: StubServer) -> None:
    job = FakeJob(2)
    job.install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    job.done_steps = 2
    await api(lambda c: op.refresh())
    assert op.done and op.metadata.completed_steps == 2


@pytest.mark.flavours("textgen")
async def test_wait_timeout(api: Api, stub: StubServer) -> None:
    job = FakeJob(1)
    job.install(stub)

    def hold(request: Any, context: Any) -> operations_pb2.Operation:
        time.sleep(min(request.timeout.ToTimedelta().total_seconds(), 0.3))
        return job.proto()

    stub.script(_waiting.WAIT_OPERATION, hold)
    op = await api(lambda c: jobs(api).find(NAME))
    with pytest.raises(errors.OperationTimeout) as caught:
        await api(lambda c: op.result(timeout=0.2))
    assert isinstance(caught.value, TimeoutError)
    assert not op.done


@pytest.mark.flavours("generativelanguage")
async def test_result_polls_get_operation_where_the_api_has_no_wait(
    api: Api, stub: StubServer
) -> None:
    job = FakeJob(3)
    job.install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    seen: list[int] = []
    result = await api(
        lambda c: op.result(timeout=10, on_progress=lambda m: seen.append(m.completed_steps))
    )
    assert result == Tuned(name="tunedModels/t1")
    assert seen == [0, 1, 2, 3]
    assert stub.calls(_waiting.WAIT_OPERATION) == []
    polls = stub.calls(_waiting.GET_OPERATION)
    assert len(polls) == 4  # find, then one poll per step
    for poll in polls:
        assert poll.path == "/google.longrunning.Operations/GetOperation"
        assert poll.metadata["x-goog-request-params"] == f"name={NAME}"


@pytest.mark.flavours("generativelanguage")
async def test_progress_bar_where_the_api_has_no_wait(api: Api, stub: StubServer) -> None:
    FakeJob(2).install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    recorder = Recorder()
    assert (await api(lambda c: op.result(progress=recorder))).name == "tunedModels/t1"
    assert [(p.completed, p.total) for p in recorder.updates] == [(0, 2), (1, 2), (2, 2)]
    assert (await api(lambda c: op.result(progress=True))).name == "tunedModels/t1"


class Recorder:
    def __init__(self) -> None:
        self.updates: list[Progress] = []
        self.closed = False

    def update(self, progress: Progress) -> None:
        self.updates.append(progress)

    def close(self) -> None:
        self.closed = True


async def test_pluggable_progress_renderer(api: Api, stub: StubServer) -> None:
    FakeJob(2).install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    recorder = Recorder()
    await api(lambda c: op.result(progress=recorder))
    assert recorder.closed
    assert [(p.completed, p.total) for p in recorder.updates][-1] == (2.0, 2.0)
    assert recorder.updates[-1].description == "steps"


async def test_rich_progress_bar(api: Api, stub: StubServer) -> None:
    FakeJob(2).install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    assert (await api(lambda c: op.result(progress=True))).name == "tunedModels/t1"


async def test_async_progress_callback(api: Api, stub: StubServer) -> None:
    if not api.is_async:
        return
    FakeJob(2).install_for(api, stub)
    op = await api(lambda c: jobs(api).find(NAME))
    seen: list[int] = []

    async def record(metadata: Meta) -> None:
        seen.append(metadata.completed_steps)

    await op.result(on_progress=record)
    assert seen == [0, 1, 2]


async def test_operations_resource(api: Api, stub: StubServer) -> None:
    job = FakeJob(2)
    job.install_for(api, stub)
    found = await api(lambda c: c.operations.get(NAME))
    assert isinstance(found.metadata, Meta)  # looked up from the type URL
    waited = await api(lambda c: c.operations.wait(NAME, timeout=10))
    assert waited.done and (await api(lambda c: waited.result())).name == "tunedModels/t1"

    def pages(request: Any, context: Any) -> operations_pb2.ListOperationsResponse:
        if request.page_token:
            return operations_pb2.ListOperationsResponse(operations=[job.proto()])
        return operations_pb2.ListOperationsResponse(operations=[job.proto()], next_page_token="p")

    stub.script(_waiting.LIST_OPERATIONS, pages)
    listed = await api.items(lambda c: c.operations.list(page_size=1))
    assert [o.name for o in listed] == [NAME, NAME]
    stub.script(_waiting.DELETE_OPERATION, empty_pb2.Empty())
    assert await api(lambda c: c.operations.delete(NAME)) is None
    assert await api(lambda c: c.operations.cancel(NAME)) is None
    assert job.cancelled


async def test_missing_operation(api: Api, stub: StubServer) -> None:
    stub.script(_waiting.GET_OPERATION, status(grpc.StatusCode.NOT_FOUND, "no such operation"))
    with pytest.raises(errors.NotFound):
        await api(lambda c: c.operations.get("operations/none"))
