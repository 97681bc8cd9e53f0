"""A tuning run whose operation another process ends: a cancel stored beside the run (as
CancelOperation through another replica of a shared store writes it), and a run handed back
to the store (a durable server stopping). In memory, on the manual clock, step by step."""

from __future__ import annotations

from google.rpc import code_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

from tests.server.env import Env, unpack
from textgen.server.jobs.tuning import start_tuning
from textgen.server.lro.outcomes import cancelled_status
from textgen.server.storage import StoredOperation, modify

TunedModel = tuned_model_pb2.TunedModel
Metadata = tuned_model_service_pb2.CreateTunedModelMetadata


async def cancel_in_store(env: Env, name: str) -> None:
    """End the operation CANCELLED in the store only, as another replica's cancel does."""

    def change(stored: StoredOperation) -> StoredOperation:
        stored.operation.done = True
        stored.operation.error.CopyFrom(cancelled_status())
        return stored

    assert await modify(env.state.stores.operations, name, change) is not None


async def start_one_step(env: Env, model_id: str) -> str:
    """A 6-step run over 3 s of the clock, one step in; its operation's name."""
    record = env.tuned_record(model_id, examples=10, epochs=2, batch_size=4)
    created = await start_tuning(env.state, env.operations, record)
    await env.clock.advance(0.5)
    return created.name


async def assert_cancelled_after_one_step(env: Env, model_id: str, name: str) -> None:
    stored = await env.tuned_model(f"tunedModels/{model_id}")
    assert stored.model.state == TunedModel.FAILED
    assert stored.model.tuning_task.HasField("complete_time")
    assert stored.adapter is None
    assert [snapshot.step for snapshot in stored.model.tuning_task.snapshots] == [1]
    operation = await env.get(name)
    assert operation.done and operation.error.code == code_pb2.CANCELLED
    assert unpack(operation.metadata, Metadata()).completed_steps == 1


async def test_a_cancel_stored_elsewhere_stops_the_run_at_its_next_step(env: Env) -> None:
    name = await start_one_step(env, "elsewhere")
    await cancel_in_store(env, name)
    await env.clock.advance(3.0)  # the rest of the run's time: no step is recorded
    await assert_cancelled_after_one_step(env, "elsewhere", name)


async def test_stop_if_cancelled_stops_the_run_at_once(env: Env) -> None:
    name = await start_one_step(env, "at-once")
    assert not await env.operations.stop_if_cancelled(name)  # still running: nothing done
    await cancel_in_store(env, name)
    assert await env.operations.stop_if_cancelled(name)
    await assert_cancelled_after_one_step(env, "at-once", name)
    assert not await env.operations.stop_if_cancelled(name)  # nothing left to stop
    await env.clock.advance(3.0)
    await assert_cancelled_after_one_step(env, "at-once", name)


async def test_release_stops_the_run_and_leaves_the_operation_running(env: Env) -> None:
    name = await start_one_step(env, "released")
    await env.operations.release(name)
    await env.clock.advance(3.0)
    operation = await env.get(name)
    assert not operation.done
    assert unpack(operation.metadata, Metadata()).completed_steps == 1
    stored = await env.tuned_model("tunedModels/released")
    assert stored.model.state == TunedModel.CREATING
    assert [snapshot.step for snapshot in stored.model.tuning_task.snapshots] == [1]
