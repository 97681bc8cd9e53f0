"""Replicas on one PostgreSQL database, served in this process (app.serve with store=URL):
a waiter on one replica is woken by a NOTIFY when another replica finishes the operation, and
a cancel through one replica stops a batch job's work on every replica.

Each replica has its own connection pool, listening connection, operation store and job
workers, exactly as separate processes would; only the database connects them. The engines
hold their calls at a gate the test opens, so what runs when is decided here, not by timing.
"""

from __future__ import annotations

import asyncio

import pytest
from google.longrunning import operations_pb2
from google.rpc import code_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.v1 import tuned_model_pb2

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
    until_async,
    waiting_on,
)
from textgen.server.jobs.batch import ROWS_PER_BATCH
from textgen.server.lro import watching
from textgen.server.storage.postgres import DONE_CHANNEL


def batch_of(prompt: str) -> int:
    """The batch a prompt "row {n}" is in."""
    return int(prompt.split()[1]) // ROWS_PER_BATCH


async def test_a_waiter_on_b_wakes_by_notify_when_a_finishes(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store is read again only every LONG seconds, and the wait asks for LONG seconds:
    # a return within PROMPT seconds can only come from a notification.
    monkeypatch.setattr(watching, "FALLBACK_SECONDS", LONG)
    gate = Gate()
    async with replicas(database, gate, 2) as (a, b):
        gate.opened.clear()  # the tuning run on A ends only when the test says so
        async with textgen.AsyncClient(target(a), timeout=30) as client:
            tuning = await client.tuned_models.create(
                MODEL, [("I", "II")], tuned_model_id="gated", epoch_count=1
            )
        name = tuning.name
        async with operations_stub(b) as on_b:
            waiter = asyncio.ensure_future(on_b.WaitOperation(long_wait(name)))
            await until(lambda: waiting_on(b) == 1)
            assert not waiter.done()
            gate.opened.set()
            done = await asyncio.wait_for(waiter, PROMPT)
        assert done.done and not done.HasField("error")
        model = tuned_model_pb2.TunedModel()
        done.response.Unpack(model)
        assert model.state == tuned_model_pb2.TunedModel.ACTIVE


async def test_a_notify_alone_wakes_a_waiter(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wake comes from the channel itself: a NOTIFY naming a running operation, sent by
    # no replica at all, ends a long WaitOperation on B at once (with the operation not done).
    import psycopg  # noqa: PLC0415

    monkeypatch.setattr(watching, "FALLBACK_SECONDS", LONG)
    gate = Gate()
    async with replicas(database, gate, 2) as (a, b):
        gate.opened.clear()
        async with textgen.AsyncClient(target(a), timeout=30) as client:
            tuning = await client.tuned_models.create(
                MODEL, [("I", "II")], tuned_model_id="held", epoch_count=1
            )
        async with operations_stub(b) as on_b:
            waiter = asyncio.ensure_future(on_b.WaitOperation(long_wait(tuning.name)))
            await until(lambda: waiting_on(b) == 1)
            async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
                await conn.execute("SELECT pg_notify(%s, %s)", (DONE_CHANNEL, tuning.name))
            answer = await asyncio.wait_for(waiter, PROMPT)
            assert answer.name == tuning.name and not answer.done
            # Let the run end before the replicas stop (a stopping server would leave it to
            # the next one, through its lease).
            gate.opened.set()
            ended = await on_b.WaitOperation(long_wait(tuning.name), timeout=PROMPT)
        assert ended.done and not ended.HasField("error")


async def test_a_waiter_on_the_creating_replica_wakes_when_another_finishes(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A only takes the calls (its job workers are stopped); B runs and finishes the batch.
    monkeypatch.setattr(watching, "FALLBACK_SECONDS", LONG)
    gate = Gate()
    async with replicas(database, gate, 2) as (a, _b):
        await durable(a).stop()
        gate.opened.clear()
        async with textgen.AsyncClient(target(a), timeout=30) as client:
            source = await client.datasets.create(["one", "two"], dataset_id="prompts")
            job = await client.batches.create(MODEL, dataset=source.name)
        await until(lambda: gate.held.get("B"))
        async with operations_stub(a) as on_a:
            waiter = asyncio.ensure_future(on_a.WaitOperation(long_wait(job.name)))
            await until(lambda: waiting_on(a) == 1)
            gate.opened.set()
            done = await asyncio.wait_for(waiter, PROMPT)
        assert done.done and not done.HasField("error")
        assert {replica for replica, _ in gate.prompts} == {"B"}


async def done_batches(database: str, name: str) -> list[tuple[int, str]]:
    import psycopg  # noqa: PLC0415

    async with await psycopg.AsyncConnection.connect(database) as conn:
        cursor = await conn.execute(
            "SELECT number, worker FROM job_batches WHERE operation = %s AND done ORDER BY number",
            (name,),
        )
        return [(int(number), str(worker)) for number, worker in await cursor.fetchall()]


async def job_finished(database: str, name: str) -> bool:
    import psycopg  # noqa: PLC0415

    async with await psycopg.AsyncConnection.connect(database) as conn:
        cursor = await conn.execute("SELECT finished FROM jobs WHERE operation = %s", (name,))
        found = await cursor.fetchone()
        return found is not None and bool(found[0])


async def test_a_cancel_through_one_replica_stops_the_batch_on_every_replica(
    database: str,
) -> None:
    rows = 60 * ROWS_PER_BATCH
    gate = Gate()
    async with replicas(database, gate, 3) as (a, b, c):
        async with textgen.AsyncClient(target(a), timeout=30) as client:
            source = await client.datasets.create(
                [f"row {n}" for n in range(rows)], dataset_id="prompts"
            )
            gate.opened.clear()  # each replica's first batch is held
            job = await client.batches.create(MODEL, dataset=source.name)
        name = job.name
        await until(lambda: all(gate.held.get(replica) for replica in "ABC"))
        # Let some batches complete, then hold every replica inside its next batch: nothing
        # is recorded while all three are held.
        gate.opened.set()
        await until_async(lambda: done_batches(database, name), lambda found: len(found) >= 6)
        gate.opened.clear()
        await until(lambda: all(gate.held.get(replica) for replica in "ABC"))
        before = await done_batches(database, name)
        seen_before = len(gate.prompts)
        in_flight = {batch_of(prompt) for _, prompt in gate.prompts} - {n for n, _ in before}
        assert len(in_flight) == 3

        async with operations_stub(c) as on_c:
            await on_c.CancelOperation(operations_pb2.CancelOperationRequest(name=name))
            cancelled = await on_c.GetOperation(operations_pb2.GetOperationRequest(name=name))
        assert cancelled.done and cancelled.error.code == code_pb2.CANCELLED

        # The held batches go on to their end; none of them is recorded, and no replica
        # takes another batch of the job.
        gate.opened.set()
        await until(lambda: sum(durable(r).running for r in (a, b, c)) == 0)
        assert await job_finished(database, name)
        assert await done_batches(database, name) == before
        after = {batch_of(prompt) for _, prompt in gate.prompts[seen_before:]}
        assert after <= in_flight, (after, in_flight)
        assert await durable(a).ledger.claim_batch("test", 5.0) is None

        async with operations_stub(b) as on_b:
            final = await on_b.GetOperation(operations_pb2.GetOperationRequest(name=name))
        assert final.done and final.error.code == code_pb2.CANCELLED
        metadata = batch_pb2.BatchCompletionMetadata()
        final.metadata.Unpack(metadata)
        assert metadata.task_status == batch_pb2.BatchInferenceTaskStatus.CANCELED
        assert metadata.completed_batches == len(before) < metadata.total_batches
        # The partial results are dropped with the job.
        async with textgen.AsyncClient(target(b), timeout=30) as client:
            kept = [dataset.name async for dataset in client.datasets.list()]
        assert kept == [source.name]
