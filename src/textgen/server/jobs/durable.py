"""Jobs that outlive the process: batch and tuning work kept in the store's job ledger.

On a durable store (SQLite, PostgreSQL) a batch job is not one task of the server that
created it. `start_batch` records the job in the ledger (textgen.server.storage.ledger), and
every server's workers claim its batches, run them with the batch runner's row code, and
record each batch's rows in one transaction that also appends them in input order. So:

- after a restart (or on another replica, once the dead one's lease lapses) the job goes on
  from its last completed batch; a batch that was running when the process died runs again,
  and its rows are written once;
- `completed_batches` counts the batches done by every worker;
- the worker that completes the last batch completes the operation;
- cancelling the operation anywhere ends it in the store at once; the workers see it at their
  next batch (the batch in flight is discarded), and the first to see it marks the job
  CANCELED and deletes its partial results.

A tuning job is leased whole: its server renews the lease while the engine trains; when that
server dies, the lease lapses and a server (the same one restarted, or another replica)
starts the run again from the start: the engine's tune() has no way to resume from a
snapshot, so the snapshots begin again too. A server that stops cleanly stops its runs first
(Operations.release: the task ends, the operation stays running) and leaves them to their
leases in the same way. While it runs one, the lease keeper also watches its operation: a
cancel through another replica (its NOTIFY, or the keeper's read every RENEW_SECONDS should
the notification be lost) stops the run here as a cancel here would, leaving the tuned model
FAILED; the run itself also notices it when it next records a step (jobs/tuning.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2

from textgen.server.engine import SamplingParams
from textgen.server.generation.resolution import resolve_model
from textgen.server.jobs.batch import ROWS_PER_BATCH, BatchPlan, answer_rows
from textgen.server.lro.operations import Operations
from textgen.server.names import DATASET
from textgen.server.state import ServerState
from textgen.server.storage import RowBlock, StoredOperation, modify
from textgen.server.storage.ledger import BATCH, TUNING, BatchClaim, Job, JobLedger
from textgen.server.storage.watch import DoneWatch
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

Status = batch_pb2.BatchInferenceTaskStatus
LEASE_SECONDS = 5.0  # how long a claim lasts without renewal
RENEW_SECONDS = 1.0  # how often a worker renews what it holds
IDLE_SECONDS = 0.1  # how often an idle worker looks for batches another replica added
SWEEP_SECONDS = 1.0  # how often jobs are checked for a lapsed tuning lease or a lost finish

_LOG = logging.getLogger(__name__)


class DurableJobs:
    """The workers of one server for the jobs of a durable store."""

    def __init__(
        self,
        state: ServerState,
        operations: Operations,
        ledger: JobLedger,
        *,
        shared: bool,
        workers: int = 1,
    ) -> None:
        self.state, self.operations, self.ledger = state, operations, ledger
        self.shared = shared
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._workers = workers
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._tuning: dict[str, asyncio.Task[None]] = {}  # lease keepers, by operation
        self._training: dict[str, asyncio.Task[None]] = {}  # tuning runs, by operation
        # How many batches this server's workers hold right now (claimed and not yet
        # recorded or dropped): for operators and tests.
        self.running = 0

    async def start(self) -> None:
        """Start the workers; on a store only this process uses, what a previous process
        held is free again at once."""
        if not self.shared:
            await self.ledger.release_all()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work()) for _ in range(self._workers)]
        self._tasks.append(loop.create_task(self._sweep()))

    async def stop(self) -> None:
        """Stop every worker and tuning run while the store is still open; what they held
        is claimed again after a restart (or, on a shared store, by another replica once the
        leases lapse)."""
        for name in list(self._training):
            await self.operations.release(name)
        tasks = [*self._tasks, *self._tuning.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks, self._tuning, self._training = [], {}, {}

    # --- batches -----------------------------------------------------------------------

    async def start_batch(
        self, plan: BatchPlan, name: str, metadata: batch_pb2.BatchCompletionMetadata, results: str
    ) -> None:
        """Record a new batch job; the workers take it from there."""
        spec = {
            "owner": plan.owner,
            "model": plan.model.name,
            "params": _params_json(plan.params),
            "source": plan.source.name,
            "rows": plan.source.dataset.row_count,
            "results": results,
            "task_id": metadata.task_id,
        }
        await self.ledger.add(Job(name, BATCH, json.dumps(spec), metadata.total_batches))
        self.operations.detach(name)  # any replica may finish it: waiters use the watch
        self._wake.set()

    async def _work(self) -> None:
        while not self.operations.closing:
            claim = await self.ledger.claim_batch(self.worker, LEASE_SECONDS)
            if claim is None:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_SECONDS)
                continue
            self.running += 1
            try:
                await self._holding(
                    lambda c=claim: self.ledger.renew_batch(c, self.worker, LEASE_SECONDS),  # type: ignore[misc]
                    self._run_batch(claim),
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOG.exception("batch %s of %s", claim.number, claim.job.operation)
            finally:
                self.running -= 1

    async def _run_batch(self, claim: BatchClaim) -> None:
        name, spec = claim.job.operation, json.loads(claim.job.spec)
        stored = await self.state.stores.operations.get(name)
        if stored is None or stored.record.operation.done:
            await self._stopped(claim.job, spec)
            return
        try:
            plan = await self._plan(spec)
        except Exception as error:  # the model or the source went away: the job fails
            await self._failed(claim.job, spec, type(error).__name__)
            return
        await self.operations.pause(name, claim.job.total + 2)
        await self._set_metadata(name, status=Status.IN_PROGRESS)
        start = claim.number * ROWS_PER_BATCH
        stop = min(start + ROWS_PER_BATCH, int(spec["rows"]))
        datasets = self.state.stores.datasets
        source = await datasets.read_rows(spec["owner"], spec["source"], start, stop)
        if len(source) != stop - start:
            await self._failed(claim.job, spec, "SourceGoneError")
            return
        prompts = [row.prompt for row in source]
        answered = await answer_rows(self.state, self.operations, plan, start, prompts)
        block = RowBlock.of_results(row.result for row in answered)
        done = await self.ledger.complete_batch(
            claim, self.worker, spec["owner"], spec["results"], block
        )
        if done.stopped:
            await self._stopped(claim.job, spec)
        elif done.results_gone:
            await self._failed(claim.job, spec, "SourceGoneError")
        elif done.recorded:
            await self._set_metadata(name, completed=done.completed)
            if done.completed >= claim.job.total:
                await self._completed(claim.job, spec)

    async def _plan(self, spec: dict[str, Any]) -> BatchPlan:
        # The batch runner's plan of this job, from its spec.
        owner = spec["owner"]
        model = await resolve_model(self.state, spec["model"], owner)
        source = await self.state.stores.datasets.get(owner, spec["source"])
        if source is None:
            raise LookupError(f"{spec['source']} is gone")
        values = dict(spec["params"], stop_sequences=tuple(spec["params"]["stop_sequences"]))
        return BatchPlan(owner, model, SamplingParams(**values), source.record)

    async def _completed(self, job: Job, spec: dict[str, Any]) -> None:
        await self._set_metadata(job.operation, status=Status.COMPLETED)
        await self.operations.complete(
            job.operation,
            batch_pb2.BatchCompletionResponse(
                task_id=spec["task_id"],
                task_status=Status.COMPLETED,
                result_dataset_id=DATASET.id_of(spec["results"]),
            ),
        )
        await self.ledger.finish(job.operation)

    async def _failed(self, job: Job, spec: dict[str, Any], why: str) -> None:
        if not await self.ledger.finish(job.operation):
            return
        await self._set_metadata(job.operation, status=Status.FAILED)
        await self.operations.fail(
            job.operation,
            status_pb2.Status(code=code_pb2.INTERNAL, message=f"The batch failed ({why})"),
        )

    async def _stopped(self, job: Job, spec: dict[str, Any]) -> None:
        # The operation finished without its job (cancelled): once, mark the task CANCELED
        # and drop its partial results, as a cancelled batch does.
        if not await self.ledger.finish(job.operation):
            return
        stored = await self.state.stores.operations.get(job.operation)
        if stored is not None and stored.record.operation.error.code == code_pb2.CANCELLED:
            await self._set_metadata(job.operation, status=Status.CANCELED)
            await self.state.stores.datasets.delete(spec["owner"], spec["results"])

    async def _set_metadata(
        self, name: str, *, status: int | None = None, completed: int | None = None
    ) -> None:
        # Change the stored BatchCompletionMetadata in place: completed batches only grow
        # (replicas report theirs in any order) and a final status is never replaced. A done
        # operation takes one change only: CANCELED, once its cancel is seen (the cancel
        # ended the operation on whichever replica took the call, without this metadata).
        def change(stored: StoredOperation) -> StoredOperation | None:
            if stored.operation.done and status != Status.CANCELED:
                return None
            holder = stored.operation.metadata
            metadata = batch_pb2.BatchCompletionMetadata.FromString(holder.value)
            before = metadata.SerializeToString()
            if status is not None and metadata.task_status < status:
                metadata.task_status = status  # type: ignore[assignment]
            if completed is not None:
                metadata.completed_batches = max(metadata.completed_batches, completed)
            if metadata.SerializeToString() == before:
                return None
            packed = any_pb2.Any(type_url=holder.type_url, value=metadata.SerializeToString())
            stored.operation.metadata.CopyFrom(packed)
            if stored.operation.done:  # its modification time stays its finish time
                return stored
            return stored._replace(modified_at=self.state.clock.now())

        await modify(self.state.stores.operations, name, change)

    # --- tuning ------------------------------------------------------------------------

    async def record_tuning(self, name: str, run: asyncio.Task[None]) -> None:
        """A tuning job this server just started (`run`, its task): lease it and keep the
        lease while it runs."""
        await self.ledger.add(Job(name, TUNING, "{}"), worker=self.worker, lease=LEASE_SECONDS)
        self._keep(name, run)

    def _keep(self, name: str, run: asyncio.Task[None]) -> None:
        # Track the run, and renew its lease until its operation is done (see the module
        # docstring).
        self._training[name] = run
        run.add_done_callback(lambda _: _drop(self._training, name, run))
        task = asyncio.get_running_loop().create_task(self._keeping(name))
        self._tuning[name] = task
        task.add_done_callback(lambda _: _drop(self._tuning, name, task))

    async def _keeping(self, name: str) -> None:
        watch = getattr(self.state.stores.operations, "done_watch", None)
        while True:
            try:
                if not await self.ledger.renew_job(name, self.worker, LEASE_SECONDS):
                    break
                with _watching(watch, name) as woken:
                    if await self._tuning_ended(name):
                        return
                    await asyncio.wait({woken}, timeout=RENEW_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is away: keep trying while the lease lasts
                _LOG.exception("keeping the lease of %s", name)
                await asyncio.sleep(RENEW_SECONDS)
        # The lease went to another server (this one was too slow to renew it), or the job
        # was closed: the run here stops, as cancelled if that is why.
        try:
            if not await self.operations.stop_if_cancelled(name):
                await self.operations.release(name)
        except Exception:
            _LOG.exception("stopping %s after its lease was lost", name)
            await self.operations.release(name)

    async def _tuning_ended(self, name: str) -> bool:
        # Whether the run's operation is over; then the job is closed, and a run that a
        # cancel through another replica ended is stopped here.
        stored = await self.state.stores.operations.get(name)
        if stored is not None and not stored.record.operation.done:
            return False
        await self.ledger.finish(name)
        if stored is not None:  # a deleted operation's run goes on, unleased
            await self.operations.stop_if_cancelled(name)
        return True

    async def _sweep(self) -> None:
        while not self.operations.closing:
            with contextlib.suppress(Exception):
                await self._resume_tuning()
            await asyncio.sleep(SWEEP_SECONDS)

    async def _resume_tuning(self) -> None:
        # Restart, from the start, each tuning job whose server stopped renewing its lease.
        while True:
            job = await self.ledger.claim_job(TUNING, self.worker, LEASE_SECONDS)
            if job is None:
                return
            stored = await self.state.stores.operations.get(job.operation)
            if stored is None or stored.record.operation.done:
                await self.ledger.finish(job.operation)
                continue
            try:
                run = await self._restart_tuning(stored.record)
            except Exception:
                _LOG.exception("resuming %s", job.operation)
                await self.ledger.finish(job.operation)
                await self.operations.fail(
                    job.operation,
                    status_pb2.Status(code=code_pb2.INTERNAL, message="Tuning could not resume"),
                )
                continue
            self._keep(job.operation, run)

    async def _restart_tuning(self, stored: StoredOperation) -> asyncio.Task[None]:
        from textgen.server.jobs import tuning  # noqa: PLC0415

        name = stored.operation.name
        metadata = tuned_model_service_pb2.CreateTunedModelMetadata.FromString(
            stored.operation.metadata.value
        )
        model_name = metadata.tuned_model

        def restart(record: Any) -> Any:  # noqa: ANN401 (a TunedModelRecord)
            del record.model.tuning_task.snapshots[:]
            record.model.state = tuned_model_pb2.TunedModel.CREATING
            return record

        tuned_models = self.state.stores.tuned_models
        written = await modify(tuned_models, stored.owner, model_name, restart)
        if written is None:
            raise LookupError(f"{model_name} is gone")
        record = written.record
        fresh = tuned_model_service_pb2.CreateTunedModelMetadata(
            tuned_model=model_name, total_steps=metadata.total_steps
        )
        await self.operations.update_metadata(name, fresh)
        return tuning.run_tuning(self.state, self.operations, record, name, fresh)

    # --- shared --------------------------------------------------------------------------

    async def _holding(self, renew: Callable[[], Awaitable[bool]], work: Awaitable[None]) -> None:
        # Run `work` while renewing its lease every RENEW_SECONDS.
        async def keep() -> None:
            while True:
                await asyncio.sleep(RENEW_SECONDS)
                if not await renew():
                    return

        keeper = asyncio.ensure_future(keep())
        try:
            await work
        finally:
            keeper.cancel()


def _drop(tasks: dict[str, asyncio.Task[None]], name: str, task: asyncio.Task[None]) -> None:
    # Forget a finished task, unless a newer one took its place.
    if tasks.get(name) is task:
        del tasks[name]


@contextlib.contextmanager
def _watching(watch: object, name: str) -> Iterator[asyncio.Future[None]]:
    # The store's DoneWatch future for `name`, or one never resolved on a store without one.
    if isinstance(watch, DoneWatch):
        with watch.watching(name) as woken:
            yield woken
        return
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        yield never
    finally:
        never.cancel()


def _params_json(params: SamplingParams) -> dict[str, Any]:
    values = {field.name: getattr(params, field.name) for field in dataclasses.fields(params)}
    values["stop_sequences"] = list(params.stop_sequences)
    return values
