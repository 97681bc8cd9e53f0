"""The emulator's pacing (textgen.testing.pacing) and production's (NoPacing) under Operations."""

from __future__ import annotations

import asyncio

from google.protobuf.empty_pb2 import Empty

from textgen.server.clock import ManualClock
from textgen.server.lro.operations import Operations
from textgen.server.lro.pacing import NoPacing
from textgen.testing.pacing import Progression, ProgressionMode, ProgressionPacer

ALICE = "alice"


def test_progression_constructors() -> None:
    assert Progression().mode is ProgressionMode.DURATION
    assert Progression.immediate().mode is ProgressionMode.IMMEDIATE
    assert Progression.after_polls(3).polls_per_stage == 3
    assert Progression.after_polls(0).polls_per_stage == 1
    assert Progression.after_duration(6.0).stage_seconds(4) == 1.5


async def staged_job(operations: Operations, name: str, stages: list[int], count: int = 3) -> None:
    """Create `name` and start a job of `count` stages recording each one it passes."""
    await operations.create(name, ALICE, Empty())

    async def work() -> None:
        for stage in range(count):
            await operations.pause(name, count)
            stages.append(stage)
        await operations.complete(name, Empty())

    operations.start(name, work())


async def test_production_never_holds_a_job_nor_a_read() -> None:
    clock = ManualClock()
    operations = Operations(clock)
    assert isinstance(operations.pacer, NoPacing)
    stages: list[int] = []
    await staged_job(operations, "operations/free", stages)
    await asyncio.sleep(0)  # the job runs at its first turn, without any clock time
    assert stages == [0, 1, 2]
    assert (await operations.poll("operations/free", ALICE)).done
    assert clock.sleepers == 0


async def test_polls_per_stage_and_delete_releases_a_parked_job() -> None:
    clock = ManualClock()
    operations = Operations(clock, pacer=ProgressionPacer(clock, Progression.after_polls(2)))
    stages: list[int] = []
    await staged_job(operations, "operations/slow", stages)
    await operations.poll("operations/slow", ALICE)
    assert stages == []
    await operations.poll("operations/slow", ALICE)
    assert stages == [0]
    await operations.delete("operations/slow", ALICE)  # nobody can poll it now: it runs on
    await asyncio.sleep(0)
    assert stages == [0, 1, 2]


async def test_duration_stages_sleep_their_share_of_the_job() -> None:
    clock = ManualClock()
    pacer = ProgressionPacer(clock, Progression.after_duration(3.0))
    operations = Operations(clock, pacer=pacer)
    stages: list[int] = []
    await staged_job(operations, "operations/timed", stages)
    await clock.advance(1.0)
    assert stages == [0]
    await clock.advance(2.0)
    assert stages == [0, 1, 2]
    assert (await operations.get("operations/timed", ALICE)).done


async def test_a_job_keeps_the_progression_it_started_with() -> None:
    clock = ManualClock()
    pacer = ProgressionPacer(clock, Progression.after_duration(3.0))
    operations = Operations(clock, pacer=pacer)
    stages: list[int] = []
    await staged_job(operations, "operations/kept", stages)
    pacer.progression = Progression.immediate()
    await asyncio.sleep(0)
    assert stages == []
    await clock.advance(3.0)
    assert stages == [0, 1, 2]


async def test_immediate_reads_wait_for_the_job_to_end() -> None:
    clock = ManualClock()
    operations = Operations(clock, pacer=ProgressionPacer(clock, Progression.immediate()))
    await operations.create("operations/yielding", ALICE, Empty())

    async def work() -> None:
        for _ in range(50):
            await operations.pause("operations/yielding", 50)
            await asyncio.sleep(0)  # a job that gives the loop back between stages
        await operations.complete("operations/yielding", Empty())

    operations.start("operations/yielding", work())
    assert (await operations.poll("operations/yielding", ALICE)).done
