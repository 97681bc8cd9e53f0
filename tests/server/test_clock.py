"""ManualClock."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.server.env import eventually
from textgen.server.clock import MANUAL_EPOCH, ManualClock, timestamp


async def test_sleep_waits_until_advanced() -> None:
    clock = ManualClock()
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.now())

    tasks = [asyncio.create_task(sleeper(s)) for s in (2.0, 1.0, 5.0)]
    await eventually(lambda: clock.sleepers == 3)
    await clock.advance(2.0)
    assert woke == [MANUAL_EPOCH + 1.0, MANUAL_EPOCH + 2.0]
    assert clock.sleepers == 1
    await clock.advance(10.0)
    assert woke[-1] == MANUAL_EPOCH + 5.0
    assert clock.now() == MANUAL_EPOCH + 12.0
    await asyncio.gather(*tasks)


async def test_advance_runs_chained_sleeps_to_the_end() -> None:
    clock = ManualClock()
    steps: list[float] = []

    async def job() -> None:
        for _ in range(5):
            await clock.sleep(1.0)
            steps.append(clock.now() - MANUAL_EPOCH)

    task = asyncio.create_task(job())
    await eventually(lambda: clock.sleepers == 1)
    await clock.advance(5.0)
    assert steps == [1.0, 2.0, 3.0, 4.0, 5.0]
    await task


async def test_advance_threadsafe_from_another_thread() -> None:
    clock = ManualClock()
    task = asyncio.create_task(clock.sleep(3.0))
    await eventually(lambda: clock.sleepers == 1)
    thread = threading.Thread(target=clock.advance_threadsafe, args=(3.0,))
    thread.start()
    await task  # woken by the other thread's advance
    await asyncio.to_thread(thread.join)
    assert clock.now() == MANUAL_EPOCH + 3.0


async def test_advance_threadsafe_refuses_the_clock_loop() -> None:
    clock = ManualClock()
    await clock.sleep(0)
    with pytest.raises(RuntimeError):
        clock.advance_threadsafe(1.0)


async def test_negative_advance_is_refused() -> None:
    with pytest.raises(ValueError):
        await ManualClock().advance(-1)


def test_timestamp_follows_the_clock() -> None:
    clock = ManualClock(start=100.5)
    assert timestamp(clock).ToNanoseconds() == 100_500_000_000
