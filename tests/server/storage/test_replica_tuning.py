"""A tuning job cancelled through another replica on one PostgreSQL database: the replica
that trains it stops, and the tuned model ends as a cancel on a single server leaves it
(FAILED, with its complete time, no adapter; the snapshots up to the cancel kept).

The engines hold every tuning step at a gate the test opens step by step (see
replica_support), so which step the cancel lands on is the test's choice, not timing's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from google.longrunning import operations_pb2
from google.rpc import code_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

import textgen
from tests.server.storage.replica_support import (
    LONG,
    MODEL,
    PROMPT,
    Gate,
    durable,
    long_wait,
    operations_stub,
    replicas,
    target,
    until,
)
from textgen.server.app import Running
from textgen.server.jobs import durable as durable_jobs
from textgen.server.storage import TunedModelRecord
from textgen.server.storage.ledger import TUNING

TunedModel = tuned_model_pb2.TunedModel
EXAMPLES = [(f"in {n}", f"out {n}") for n in range(8)]  # 8 steps of one example
BEFORE_CANCEL = 3  # steps the run takes before the cancel


async def start_held_tuning(gate: Gate, a: Running, model_id: str) -> str:
    """Start an 8-step tuning through A and let it take BEFORE_CANCEL steps; it is held
    before the next one. The operation's name."""
    gate.opened.clear()
    async with textgen.AsyncClient(target(a), timeout=30) as client:
        tuning = await client.tuned_models.create(
            MODEL, EXAMPLES, tuned_model_id=model_id, epoch_count=1, batch_size=1
        )
    gate.let(BEFORE_CANCEL)
    await until(lambda: len(gate.steps) == BEFORE_CANCEL and gate.held.get("A") == 1)
    return tuning.name


async def cancel_through(replica: Running, name: str) -> None:
    async with operations_stub(replica) as stub:
        await stub.CancelOperation(operations_pb2.CancelOperationRequest(name=name))
        cancelled = await stub.GetOperation(operations_pb2.GetOperationRequest(name=name))
    assert cancelled.done and cancelled.error.code == code_pb2.CANCELLED


async def stored_model(replica: Running, model_id: str) -> TunedModelRecord:
    found = await replica.state.stores.tuned_models.list(prefix="tunedModels/")
    (record,) = [v.record for v in found if v.record.name == f"tunedModels/{model_id}"]
    return record


async def check_cancelled(
    a: Running, b: Running, gate: Gate, name: str, model_id: str, engine_steps: int
) -> None:
    """What a cancel on a single server leaves, read through both replicas; the engine
    took `engine_steps` steps in all, none was recorded after the cancel, and no replica
    will run the job again."""
    for replica in (a, b):
        async with textgen.AsyncClient(target(replica), timeout=30) as client:
            model = await client.tuned_models.get(f"tunedModels/{model_id}")
        assert model.state == TunedModel.FAILED
        assert model.tuning_task.HasField("complete_time")
        steps = [snapshot.step for snapshot in model.tuning_task.snapshots]
        assert steps == list(range(1, BEFORE_CANCEL + 1))
        async with operations_stub(replica) as stub:
            final = await stub.GetOperation(operations_pb2.GetOperationRequest(name=name))
        assert final.done and final.error.code == code_pb2.CANCELLED
        metadata = tuned_model_service_pb2.CreateTunedModelMetadata()
        final.metadata.Unpack(metadata)
        assert metadata.completed_steps == BEFORE_CANCEL
    assert (await stored_model(b, model_id)).adapter is None
    assert [step for _, step in gate.steps] == list(range(1, engine_steps + 1))
    assert {replica for replica, _ in gate.steps} == {"A"}
    assert await durable(b).ledger.claim_job(TUNING, "test", LONG) is None


async def test_a_cancel_through_b_stops_the_tuning_run_on_a(database: str) -> None:
    gate = Gate()
    async with replicas(database, gate, 2, steps=True) as (a, b):
        name = await start_held_tuning(gate, a, "stopped")
        async with operations_stub(a) as on_a:
            # A runs the job, so its waiter waits on A's own record of the run.
            waiter = asyncio.ensure_future(on_a.WaitOperation(long_wait(name)))
            await until(lambda: a.operations.waiting(name) == 1)
            await cancel_through(b, name)
            # B's NOTIFY reaches A, which stops the run held at its gate and answers its
            # waiter, while the gate stays shut.
            answered = await asyncio.wait_for(waiter, PROMPT)
        assert answered.done and answered.error.code == code_pb2.CANCELLED
        await until(lambda: gate.held.get("A") == 0, PROMPT)
        gate.opened.set()
        await check_cancelled(a, b, gate, name, "stopped", BEFORE_CANCEL)


@contextlib.contextmanager
def deaf(name: str) -> Iterator[asyncio.Future[None]]:
    """A DoneWatch.watching that no notification resolves."""
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        yield never
    finally:
        never.cancel()


async def test_without_the_notification_the_run_stops_at_its_next_step(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hears of no finished operation, and its lease keeper reads the store only every
    # LONG seconds (the lease lasts as long), so only the step itself can notice the cancel.
    monkeypatch.setattr(durable_jobs, "RENEW_SECONDS", LONG)
    monkeypatch.setattr(durable_jobs, "LEASE_SECONDS", LONG)
    gate = Gate()
    async with replicas(database, gate, 2, steps=True) as (a, b):
        watch = getattr(a.state.stores.operations, "done_watch")  # noqa: B009
        monkeypatch.setattr(watch, "watching", deaf)
        name = await start_held_tuning(gate, a, "next-step")
        async with operations_stub(a) as on_a:
            waiter = asyncio.ensure_future(on_a.WaitOperation(long_wait(name)))
            await until(lambda: a.operations.waiting(name) == 1)
            await cancel_through(b, name)
            assert not waiter.done()
            gate.let(1)  # the step in progress ends; the run records no more
            answered = await asyncio.wait_for(waiter, PROMPT)
        assert answered.done and answered.error.code == code_pb2.CANCELLED
        gate.opened.set()
        await check_cancelled(a, b, gate, name, "next-step", BEFORE_CANCEL + 1)
