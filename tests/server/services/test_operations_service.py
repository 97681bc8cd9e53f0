"""google.longrunning.Operations: Get, List, Cancel, Delete, Wait, and ownership."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf.empty_pb2 import Empty
from google.rpc import code_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

from tests.server.env import (
    ALICE,
    BOB,
    TEXT_MODEL,
    Env,
    as_user,
    eventually,
    status_of,
    unpack,
    violated_fields,
)
from textgen.server.clock import ManualClock
from textgen.server.jobs.tuning import start_tuning
from textgen.server.lro.operations import Operations
from textgen.server.rpc.errors import ServiceError
from textgen.server.services.operations_service import (
    DEFAULT_WAIT_SECONDS,
    parse_done_filter,
    wait_seconds,
)

Status = batch_pb2.BatchInferenceTaskStatus


async def start_batch(env: Env, rows: int = 3, user: str = ALICE) -> operations_pb2.Operation:
    dataset_id = await env.prompts([f"prompt {i}" for i in range(rows)], owner=user)
    request = batch_pb2.BatchCompletionRequest(model_uri=TEXT_MODEL, source_dataset_id=dataset_id)
    return await env.complete_batch(request, user)


def wait_request(name: str, seconds: float | None = None) -> operations_pb2.WaitOperationRequest:
    request = operations_pb2.WaitOperationRequest(name=name)
    if seconds is not None:
        request.timeout.FromNanoseconds(int(seconds * 1e9))
    return request


async def test_get_returns_the_operation(env: Env) -> None:
    created = await start_batch(env)
    assert created.name.startswith("operations/")
    assert not created.done
    fetched = await env.get(created.name)
    assert fetched.name == created.name
    metadata = unpack(fetched.metadata, batch_pb2.BatchCompletionMetadata())
    assert metadata.task_id == created.name.split("/")[-1]


async def test_get_unknown_is_not_found(env: Env) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.get("operations/missing")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_another_principal_gets_not_found(env: Env) -> None:
    created = await start_batch(env)
    for call in (
        env.ops.GetOperation(operations_pb2.GetOperationRequest(name=created.name), **bob()),
        env.ops.CancelOperation(operations_pb2.CancelOperationRequest(name=created.name), **bob()),
        env.ops.DeleteOperation(operations_pb2.DeleteOperationRequest(name=created.name), **bob()),
        env.ops.WaitOperation(wait_request(created.name, 0.01), **bob()),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await env.ops.ListOperations(operations_pb2.ListOperationsRequest(), **bob())
    assert list(listed.operations) == []
    assert not (await env.get(created.name)).done  # untouched by Bob's cancel


def bob() -> dict[str, object]:
    return {"metadata": as_user(BOB)}


async def test_list_by_prefix_done_filter_and_pages(env: Env) -> None:
    first = await start_tuning(env.state, env.operations, env.tuned_record("first"))
    second = await start_tuning(env.state, env.operations, env.tuned_record("second"))
    batches = [await start_batch(env) for _ in range(3)]
    await start_batch(env, user=BOB)
    await env.operations.cancel(batches[0].name, ALICE)  # done
    await env.operations.cancel(first.name, ALICE)  # done

    async def names(prefix: str, filter_text: str = "") -> list[str]:
        request = operations_pb2.ListOperationsRequest(name=prefix, filter=filter_text)
        response = await env.ops.ListOperations(request, metadata=as_user(ALICE))
        return [operation.name for operation in response.operations]

    assert await names("operations") == [op.name for op in batches]
    assert await names("tunedModels/first/operations") == [first.name]
    assert await names("tunedModels") == [first.name, second.name]
    assert len(await names("")) == 5
    assert await names("", "done=true") == [first.name, batches[0].name]
    assert await names("operations", "done = FALSE") == [op.name for op in batches[1:]]

    seen: list[str] = []
    token = ""
    while True:
        request = operations_pb2.ListOperationsRequest(page_size=2, page_token=token)
        page = await env.ops.ListOperations(request, metadata=as_user(ALICE))
        assert len(page.operations) <= 2
        seen += [operation.name for operation in page.operations]
        token = page.next_page_token
        if not token:
            break
    assert seen == await names("")


async def test_list_rejects_other_filters(env: Env) -> None:
    for bad in ("done=maybe", "name=operations/x", "done"):
        request = operations_pb2.ListOperationsRequest(filter=bad)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await env.ops.ListOperations(request, metadata=as_user(ALICE))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violated_fields(caught.value) == ["filter"]


async def test_page_token_is_bound_to_the_request(env: Env) -> None:
    for _ in range(3):
        await start_batch(env)
    first = await env.ops.ListOperations(
        operations_pb2.ListOperationsRequest(page_size=1), metadata=as_user(ALICE)
    )
    request = operations_pb2.ListOperationsRequest(
        page_size=1, page_token=first.next_page_token, filter="done=false"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.ops.ListOperations(request, metadata=as_user(ALICE))
    assert violated_fields(caught.value) == ["page_token"]


async def test_cancel_batch_marks_it_canceled(env: Env) -> None:
    created = await start_batch(env, rows=45)
    await env.clock.advance(1.0)  # PENDING, IN_PROGRESS, first batch under way
    request = operations_pb2.CancelOperationRequest(name=created.name)
    await env.ops.CancelOperation(request, metadata=as_user(ALICE))
    operation = await env.get(created.name)
    assert operation.done
    assert operation.error.code == 1
    metadata = unpack(operation.metadata, batch_pb2.BatchCompletionMetadata())
    assert metadata.task_status == Status.CANCELED
    assert metadata.completed_batches < metadata.total_batches
    await env.clock.advance(60.0)  # the work really stopped
    assert (await env.get(created.name)).error.code == 1
    assert unpack(
        (await env.get(created.name)).metadata, batch_pb2.BatchCompletionMetadata()
    ).completed_batches == (metadata.completed_batches)


async def test_cancel_tuning_fails_the_model(env: Env) -> None:
    record = env.tuned_record("cancelled")
    created = await start_tuning(env.state, env.operations, record)
    await env.clock.advance(1.0)
    request = operations_pb2.CancelOperationRequest(name=created.name)
    await env.ops.CancelOperation(request, metadata=as_user(ALICE))
    operation = await env.get(created.name)
    assert operation.done and operation.error.code == 1
    stored = await env.tuned_model(record.name)
    assert stored.model.state == tuned_model_pb2.TunedModel.FAILED
    assert stored.model.tuning_task.HasField("complete_time")
    await env.clock.advance(60.0)
    stored = await env.tuned_model(record.name)
    assert stored.model.state == tuned_model_pb2.TunedModel.FAILED
    assert stored.adapter is None


async def test_cancel_a_done_operation_changes_nothing(env: Env) -> None:
    record = env.tuned_record("finished")
    created = await start_tuning(env.state, env.operations, record)
    await env.clock.advance(3.0)
    await env.ops.CancelOperation(
        operations_pb2.CancelOperationRequest(name=created.name), metadata=as_user(ALICE)
    )
    operation = await env.get(created.name)
    assert operation.HasField("response") and not operation.HasField("error")
    assert (await env.tuned_model(record.name)).model.state == tuned_model_pb2.TunedModel.ACTIVE


async def test_delete_forgets_without_cancelling(env: Env) -> None:
    record = env.tuned_record("kept")
    created = await start_tuning(env.state, env.operations, record)
    await env.clock.advance(1.0)
    await env.ops.DeleteOperation(
        operations_pb2.DeleteOperationRequest(name=created.name), metadata=as_user(ALICE)
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.get(created.name)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    await env.clock.advance(2.0)
    stored = await env.tuned_model(record.name)
    assert stored.model.state == tuned_model_pb2.TunedModel.ACTIVE
    assert stored.adapter is not None


async def test_wait_returns_when_the_operation_finishes(env: Env) -> None:
    created = await start_tuning(env.state, env.operations, env.tuned_record("waited"))
    waiter = asyncio.ensure_future(
        env.ops.WaitOperation(wait_request(created.name, 30.0), metadata=as_user(ALICE))
    )
    await eventually(lambda: env.operations.waiting(created.name) == 1)
    assert not waiter.done()
    await env.clock.advance(3.0)
    operation = await waiter
    assert operation.done
    response = unpack(operation.response, tuned_model_pb2.TunedModel())
    assert response.state == tuned_model_pb2.TunedModel.ACTIVE


async def test_wait_on_a_done_operation_returns_at_once(env: Env) -> None:
    created = await start_tuning(env.state, env.operations, env.tuned_record("quick"))
    await env.clock.advance(3.0)
    operation = await env.ops.WaitOperation(wait_request(created.name), metadata=as_user(ALICE))
    assert operation.done


async def test_wait_timeout_returns_the_operation_not_done(env: Env) -> None:
    created = await start_tuning(env.state, env.operations, env.tuned_record("slow"))
    operation = await env.ops.WaitOperation(
        wait_request(created.name, 0.05), metadata=as_user(ALICE)
    )
    assert operation.name == created.name
    assert not operation.done


async def test_wait_honours_the_call_deadline(env: Env) -> None:
    created = await start_tuning(env.state, env.operations, env.tuned_record("deadline"))
    operation = await env.ops.WaitOperation(
        wait_request(created.name), metadata=as_user(ALICE), timeout=1.0
    )
    assert operation.name == created.name
    assert not operation.done


async def test_a_thousand_waiters_do_not_starve_other_calls(env: Env) -> None:
    record = env.tuned_record("crowd")
    created = await start_tuning(env.state, env.operations, record)
    waiters = [
        asyncio.ensure_future(
            env.ops.WaitOperation(wait_request(created.name, 60.0), metadata=as_user(ALICE))
        )
        for _ in range(1000)
    ]
    await eventually(lambda: env.operations.waiting(created.name) == 1000, limit=20.0)
    # A unary call still completes while every waiter is parked.
    listed = await env.ops.ListOperations(
        operations_pb2.ListOperationsRequest(), metadata=as_user(ALICE)
    )
    assert [operation.name for operation in listed.operations] == [created.name]
    assert not any(waiter.done() for waiter in waiters)
    await env.clock.advance(3.0)
    results = await asyncio.gather(*waiters)
    assert all(operation.done for operation in results)
    assert env.operations.waiting(created.name) == 0


async def test_operation_metadata_names_the_tuned_model(env: Env) -> None:
    created = await start_tuning(env.state, env.operations, env.tuned_record("named"))
    assert created.name.startswith("tunedModels/named/operations/")
    metadata = unpack(created.metadata, tuned_model_service_pb2.CreateTunedModelMetadata())
    assert metadata.tuned_model == "tunedModels/named"


async def test_cancel_with_unknown_name_is_not_found(env: Env) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.ops.CancelOperation(
            operations_pb2.CancelOperationRequest(name="operations/nope"), metadata=as_user(ALICE)
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert status_of(caught.value).code == 5


def test_wait_seconds_takes_the_sooner_limit() -> None:
    request = wait_request("operations/x", 5.0)
    assert wait_seconds(request, None) == 5.0
    assert wait_seconds(request, 1.0) == pytest.approx(0.8)
    assert wait_seconds(wait_request("operations/x"), None) == DEFAULT_WAIT_SECONDS
    assert wait_seconds(wait_request("operations/x"), 10.0) == pytest.approx(9.8)


def test_done_filter_parsing() -> None:
    assert parse_done_filter("") is None
    assert parse_done_filter(" done=TRUE ") is True
    assert parse_done_filter("done = false") is False


async def test_a_job_that_raises_fails_its_operation() -> None:
    operations = Operations(ManualClock())
    await operations.create("operations/boom", ALICE, Empty())

    async def explode() -> None:
        raise RuntimeError("boom")

    task = operations.start("operations/boom", explode())
    await asyncio.wait({task})
    operation = await operations.get("operations/boom", ALICE)
    assert operation.done and operation.error.code == code_pb2.INTERNAL


async def test_create_refuses_a_taken_name() -> None:
    operations = Operations(ManualClock())
    await operations.create("operations/same", ALICE, Empty())
    with pytest.raises(ServiceError) as caught:
        await operations.create("operations/same", ALICE, Empty())
    assert caught.value.code == grpc.StatusCode.ALREADY_EXISTS
