"""A server on a durable store: its job workers started with it and stopped with it.

`attach_backend` is what `app.serve(store=...)` does once the server listens: it gives the
state the backend's stores' job runner (textgen.server.jobs.durable), so new batch and tuning
jobs are recorded in the ledger, resumes what a previous process left (a batch from its last
completed batch, a tuning run from the start), and tells Operations that a stopping server
leaves running jobs to be resumed rather than ending them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textgen.server.jobs.durable import DurableJobs
from textgen.server.lro.operations import Operations
from textgen.server.state import ServerState
from textgen.server.storage.backends import Backend


async def attach_backend(
    state: ServerState, operations: Operations, backend: Backend
) -> Callable[[], Awaitable[None]]:
    """Start the job workers of a durable backend; returns what stops them and closes it."""
    if backend.ledger is None:
        return backend.close
    jobs = DurableJobs(state, operations, backend.ledger, shared=backend.shared)
    state.durable = jobs
    operations.resumes_jobs = True
    await jobs.start()

    async def close() -> None:
        await jobs.stop()
        await backend.close()

    return close
