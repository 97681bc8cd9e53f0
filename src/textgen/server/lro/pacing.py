"""The pacer seam: how an operation's job moves from one stage to the next.

A job (tuning, batch) is a series of stages. In production a job runs as fast as its work
allows: `NoPacing` never holds it, and reading an operation never waits. Emulators and tests
want jobs they can watch or steer (done at once, a few clock seconds long, one stage per
poll); that pacing is test-only and lives in textgen.testing.pacing, behind this interface.

`Operations` calls the pacer at five points: when a job starts (`begin`), at each stage
boundary of the job (`stage`), when a client reads the operation (`poll`), while a client
waits for it to finish (`waiting`), and when it is deleted with its job still running
(`forget`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol


class Pacer(Protocol):
    """How jobs advance between stages, and what reading their operations waits for."""

    def begin(self, name: str, task: asyncio.Task[None]) -> None:
        """The job of operation `name` starts; `task` runs it."""
        ...

    async def stage(self, name: str, stages: int) -> None:
        """The job of `name`, `stages` stages long in all, is at a boundary between two."""
        ...

    async def poll(self, name: str) -> None:
        """A client is about to read `name`; return when it may."""
        ...

    def waiting(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Held while a client waits for `name` to finish."""
        ...

    def forget(self, name: str) -> None:
        """`name` was deleted while its job goes on: nobody will read it again."""
        ...


class NoPacing:
    """The production pacer: jobs never wait between stages and reads never wait for jobs."""

    def begin(self, name: str, task: asyncio.Task[None]) -> None:
        """Nothing to remember."""

    async def stage(self, name: str, stages: int) -> None:
        """Go straight on."""

    async def poll(self, name: str) -> None:
        """Read at once."""

    def waiting(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Nothing to do while a client waits."""
        return contextlib.nullcontext()

    def forget(self, name: str) -> None:
        """Nothing to forget."""
