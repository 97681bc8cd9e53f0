"""Clocks: where every duration in the servers comes from.

Production uses RealClock. Tests use ManualClock (see textgen.server.clock.ManualClock once
implemented) and advance it instantly, so a tuning job or a batch finishes without waiting.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from google.protobuf import timestamp_pb2


class Clock(Protocol):
    """Time as the servers see it."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until now() has advanced by `seconds`."""
        ...


class RealClock:
    """Wall-clock time and asyncio sleeps."""

    def now(self) -> float:
        """Seconds since the epoch, from the system clock."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(seconds)


def timestamp(clock: Clock) -> timestamp_pb2.Timestamp:
    """The clock's current time as a protobuf Timestamp."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(clock.now() * 1e9))
    return stamp
