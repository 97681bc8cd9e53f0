"""A server on a durable store stopped in the middle of a tuning run: the run stops before
the store closes (no task left to fail on a closed connection), the operation stays running,
and the next server, through the job's lease, runs it again and finishes it.

On SQLite the next server is the same file opened again; on PostgreSQL another replica takes
the job once the stopped one's lease lapses (the lease is shortened here so the test is
quick; nothing is timed).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textgen.v1 import tuned_model_pb2

import textgen
from tests.server.storage.replica_support import (
    MODEL,
    PROMPT,
    Gate,
    long_wait,
    operations_stub,
    start_server,
    target,
    until,
)
from textgen.server.jobs import durable as durable_jobs

TunedModel = tuned_model_pb2.TunedModel
EXAMPLES = [(f"in {n}", f"out {n}") for n in range(4)]  # 4 steps of one example
BEFORE_STOP = 2  # steps the first server takes before it stops


def over(task: asyncio.Task[object] | None) -> bool:
    """Whether a task the gate saw is done (or collected)."""
    return task is None or task.done()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("database")
    return url


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What the running loop's exception handler is given while the test runs (a task's
    exception nobody retrieved, among others)."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        yield seen
    finally:
        loop.set_exception_handler(previous)


async def test_a_server_stopped_mid_tuning_leaves_the_run_to_the_next(
    store_url: str,
    loop_errors: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(durable_jobs, "LEASE_SECONDS", 1.0)
    monkeypatch.setattr(durable_jobs, "RENEW_SECONDS", 0.2)
    monkeypatch.setattr(durable_jobs, "SWEEP_SECONDS", 0.1)
    caplog.set_level(logging.WARNING)
    gate = Gate()
    gate.opened.clear()
    first = await start_server(store_url, gate, "A", steps=True)
    try:
        async with textgen.AsyncClient(target(first), timeout=30) as client:
            tuning = await client.tuned_models.create(
                MODEL, EXAMPLES, tuned_model_id="interrupted", epoch_count=1, batch_size=1
            )
        gate.let(BEFORE_STOP)
        await until(lambda: len(gate.steps) == BEFORE_STOP and gate.held.get("A") == 1)
    finally:
        await first.stop(None)
    # The run was stopped, cleanly, before the store closed: its task is over.
    (run_ref,) = gate.tasks
    run = run_ref()
    assert run is None or run.cancelled(), run
    del run
    gate.opened.set()  # had the run gone on, it would now meet the closed store

    second = await start_server(store_url, gate, "B", steps=True)
    try:
        async with operations_stub(second) as stub:
            done = await stub.WaitOperation(long_wait(tuning.name), timeout=60)
            while not done.done:  # a wait may end early; it never ends in an error here
                done = await stub.WaitOperation(long_wait(tuning.name), timeout=60)
        assert done.done and not done.HasField("error"), done.error
        model = TunedModel()
        done.response.Unpack(model)
        assert model.state == TunedModel.ACTIVE
        assert [snapshot.step for snapshot in model.tuning_task.snapshots] == [1, 2, 3, 4]
        # The run began again from its first step on the second server.
        assert [step for replica, step in gate.steps if replica == "B"] == [1, 2, 3, 4]
        assert [step for replica, step in gate.steps if replica == "A"] == [1, 2]
    finally:
        await second.stop(None)
    await until(lambda: all(over(ref()) for ref in gate.tasks), PROMPT)
    gc.collect()
    assert loop_errors == []
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
