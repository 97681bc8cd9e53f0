"""The tuning job: the engine's training loop, its progress recorded as operation metadata.

`start_tuning` (called by CreateTunedModel) names the operation
`tunedModels/{id}/operations/{op}`, and moves the tuned model from CREATING to ACTIVE
(response: the TunedModel) or to FAILED (error; CANCELLED when the operation is cancelled).

The engine owns the loop (`Engine.tune` yields a TuningProgress per step, then the adapter);
this job records each step as it arrives, and asks for the next one only after a pause at the
stage boundary (which only a test pacer fills).

A cancel stops the run and leaves the tuned model FAILED, with its complete time and no
adapter. A cancel here cancels the task at once; a cancel through another replica of a shared
store is seen at the next step at the latest (recording a step finds the operation done), and
usually sooner: that replica's notification reaches the lease keeper of jobs/durable.py.

Snapshots are kept at a bounded count, so that a step costs the same at the end of a long run
as at its start and the operation stays small: the tuned model and the operation's metadata
hold every `stride`-th step (stride 1 at first), at most MAX_SNAPSHOTS of them, plus the
latest step when it is not one of those. When the list is full, every other kept step is
dropped and the stride doubles, so the whole loss curve stays, at a coarser grain.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from google.rpc import code_pb2, status_pb2

from textgen.server.clock import timestamp
from textgen.server.engine import TuningEvent, TuningParams, TuningProgress, TuningResult
from textgen.server.lro.operations import Operation, Operations
from textgen.server.names import GENERATED_ID_LENGTH, TUNED_MODEL, tuning_operation_name
from textgen.server.rpc.errors import ServiceError, already_exists
from textgen.server.state import ServerState
from textgen.server.storage import TunedModelRecord, modify
from textgen.server.validation.tuning_rules import (
    DEFAULT_EPOCHS,
    LARGE_BATCH,
    LARGE_RATE,
    SMALL_BATCH,
    SMALL_DATASET_EXAMPLES,
    SMALL_RATE,
    tuning_steps,
)
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

TunedModel = tuned_model_pb2.TunedModel
TuningSnapshot = tuned_model_pb2.TuningSnapshot

# The most snapshots a tuned model and its operation hold (see the module docstring).
MAX_SNAPSHOTS = 256
# An adapter argument that leaves the stored adapter as it is.
_KEEP: Any = object()


def tuning_params(record: TunedModelRecord) -> TuningParams:
    """The run's hyperparameters: the model's, with any that are missing defaulted."""
    hyper = record.model.tuning_task.hyperparameters
    small = len(record.examples) <= SMALL_DATASET_EXAMPLES
    epochs = hyper.epoch_count if hyper.HasField("epoch_count") else 0
    batch = hyper.batch_size if hyper.HasField("batch_size") else 0
    rate_option = hyper.WhichOneof("learning_rate_option")
    default_rate = SMALL_RATE if small else LARGE_RATE
    if rate_option == "learning_rate" and hyper.learning_rate > 0:
        rate = hyper.learning_rate
    elif rate_option == "learning_rate_multiplier" and hyper.learning_rate_multiplier > 0:
        rate = default_rate * hyper.learning_rate_multiplier
    else:
        rate = default_rate
    return TuningParams(
        epoch_count=epochs if epochs > 0 else DEFAULT_EPOCHS,
        batch_size=batch if batch > 0 else (SMALL_BATCH if small else LARGE_BATCH),
        learning_rate=rate,
    )


def total_steps(examples: int, params: TuningParams) -> int:
    """ceil(examples / batch_size) steps per epoch, times epoch_count."""
    return tuning_steps(examples, params.epoch_count, params.batch_size)


class Snapshots:
    """The snapshots a run keeps: every `stride`-th step, at most `limit` of them, then the
    latest step if it is not one of them (see the module docstring)."""

    def __init__(self, limit: int = MAX_SNAPSHOTS) -> None:
        self._limit = max(limit, 2)
        self._kept: list[TuningSnapshot] = []
        self._latest: TuningSnapshot | None = None
        self.stride = 1

    def add(self, snapshot: TuningSnapshot) -> list[TuningSnapshot]:
        """Record one step's snapshot; the list to show now, oldest first."""
        self._latest = None
        if snapshot.step % self.stride == 0:
            if len(self._kept) >= self._limit:
                self.stride *= 2
                self._kept = [kept for kept in self._kept if kept.step % self.stride == 0]
            if snapshot.step % self.stride == 0:
                self._kept.append(snapshot)
            else:
                self._latest = snapshot
        else:
            self._latest = snapshot
        return self._kept if self._latest is None else [*self._kept, self._latest]


async def start_tuning(
    state: ServerState, operations: Operations, record: TunedModelRecord
) -> Operation:
    """Store the new tuned model `record` and start tuning it on the running loop; returns
    its new operation. ALREADY_EXISTS when its owner already has a tuned model of its name.

    Fills in the resolved hyperparameters, the start time and (if missing) create_time,
    and the operation's name, before the record is stored.
    """
    model = record.model
    params = tuning_params(record)
    hyper = model.tuning_task.hyperparameters
    hyper.epoch_count, hyper.batch_size = params.epoch_count, params.batch_size
    if hyper.WhichOneof("learning_rate_option") is None:
        hyper.learning_rate = params.learning_rate
    now = timestamp(state.clock)
    if not model.HasField("create_time"):
        model.create_time.CopyFrom(now)
    model.update_time.CopyFrom(now)
    model.tuning_task.start_time.CopyFrom(now)
    model.state = TunedModel.CREATING
    del model.tuning_task.snapshots[:]

    name = tuning_operation_name(model.name, state.ids.suffix(GENERATED_ID_LENGTH))
    steps = total_steps(len(record.examples), params)
    metadata = tuned_model_service_pb2.CreateTunedModelMetadata(
        tuned_model=model.name, total_steps=steps
    )
    record = record._replace(operation_name=name)
    if not await state.stores.tuned_models.create(record):
        raise already_exists(TUNED_MODEL.type, model.name)
    operation = await operations.create(name, record.owner, metadata, description="Model tuning")
    task = run_tuning(state, operations, record, name, metadata)
    if state.durable is not None:  # leased, so another server resumes it (jobs/durable.py)
        await state.durable.record_tuning(name, task)
    return operation


def run_tuning(
    state: ServerState,
    operations: Operations,
    record: TunedModelRecord,
    name: str,
    metadata: tuned_model_service_pb2.CreateTunedModelMetadata,
) -> asyncio.Task[None]:
    """Train `record` as the work of operation `name` (created, with `metadata`): a new
    run, or one started again from its first step (textgen.server.jobs.durable)."""
    job = _Job(state, operations, record, name, metadata)
    events = state.engine.tune(record.base_model, record.examples, tuning_params(record))
    return operations.start(name, job.run(events), on_cancel=job.cancelled)


def public_model(model: TunedModel) -> TunedModel:
    """A copy without the training data, which is sent on create only."""
    copy = TunedModel()
    copy.CopyFrom(model)
    copy.tuning_task.ClearField("training_data")
    return copy


class _Job:
    # One tuning job: the steps, and what happens to the tuned model when it ends.

    def __init__(
        self,
        state: ServerState,
        operations: Operations,
        record: TunedModelRecord,
        name: str,
        metadata: tuned_model_service_pb2.CreateTunedModelMetadata,
    ) -> None:
        self.state, self.operations, self.record = state, operations, record
        self.name, self.metadata = name, metadata
        self.snapshots = Snapshots()

    async def run(self, events: AsyncIterator[TuningEvent]) -> None:
        try:
            try:
                adapter = await self._train(events)
            finally:
                await _close(events)
        except Exception as exc:
            await self._end(TunedModel.FAILED)
            await self.operations.fail(self.name, _failure(exc))
            return
        model = await self._end(TunedModel.ACTIVE, adapter)
        completed = await self.operations.complete(self.name, public_model(model))
        if not completed and await self.operations.was_cancelled(self.name):
            # Cancelled through another replica as the run ended: end as cancelled.
            raise asyncio.CancelledError

    async def _train(self, events: AsyncIterator[TuningEvent]) -> object:
        # Pause before each planned step, then take the engine's next report.
        stages = self.metadata.total_steps
        while True:
            if self.metadata.completed_steps < stages:
                await self.operations.pause(self.name, stages)
            event = await anext(events, None)
            if isinstance(event, TuningResult):
                return event.adapter
            if event is None:
                raise RuntimeError("the engine's tuning run ended without an adapter")
            await self._record(event)
            await asyncio.sleep(0)  # the loop serves other calls between steps

    async def _record(self, progress: TuningProgress) -> None:
        snapshot = TuningSnapshot(
            step=progress.step,
            epoch=progress.epoch,
            mean_loss=progress.mean_loss,
            compute_time=timestamp(self.state.clock),
        )
        shown = self.snapshots.add(snapshot)
        _show(self.metadata.snapshots, shown)
        self.metadata.completed_steps = progress.step
        total = max(self.metadata.total_steps, 1)
        self.metadata.completed_percent = min(100.0, 100.0 * progress.step / total)
        # The operation first: once it is done (cancelled elsewhere) this raises, and the
        # step is not recorded on the tuned model either.
        await self.operations.progress(self.name, self.metadata)
        await self._change(lambda model: _show(model.tuning_task.snapshots, shown))

    async def cancelled(self) -> None:
        await self._end(TunedModel.FAILED, None)

    async def _end(
        self, final: TunedModel.State.ValueType, adapter: object | None = _KEEP
    ) -> TunedModel:
        # The tuned model in its final state, as stored (or as it was, if deleted meanwhile).
        now = timestamp(self.state.clock)

        def end(model: TunedModel) -> None:
            model.state = final
            model.tuning_task.complete_time.CopyFrom(now)
            model.update_time.CopyFrom(now)

        return await self._change(end, adapter)

    async def _change(
        self, edit: Callable[[TunedModel], object], adapter: object | None = _KEEP
    ) -> TunedModel:
        # Apply `edit` to the stored tuned model (compare-and-set), and set its adapter
        # (None drops it) unless `adapter` is _KEEP; the model as stored afterwards.
        def change(record: TunedModelRecord) -> TunedModelRecord:
            edit(record.model)
            return record if adapter is _KEEP else record._replace(adapter=adapter)

        record = self.record
        written = await modify(self.state.stores.tuned_models, record.owner, record.name, change)
        if written is None:  # deleted while tuning: keep our own copy up to date
            edit(self.record.model)
            return self.record.model
        return written.record.model


def _show(field: Any, snapshots: list[TuningSnapshot]) -> None:  # noqa: ANN401 (repeated field)
    # Make a repeated snapshots field hold `snapshots`: usually one more at the end, else
    # the thinned list anew.
    if len(field) < len(snapshots) and all(
        field[index].step == snapshots[index].step for index in (0, len(field) - 1) if field
    ):
        field.extend(snapshots[len(field) :])
        return
    del field[:]
    field.extend(snapshots)


def _failure(error: Exception) -> status_pb2.Status:
    # An engine's ServiceError (UNIMPLEMENTED, say) is reported as it is; anything else as
    # INTERNAL, naming only the exception's type.
    if isinstance(error, ServiceError):
        return error.status
    return status_pb2.Status(
        code=code_pb2.INTERNAL, message=f"Tuning failed ({type(error).__name__})"
    )


async def _close(events: AsyncIterator[TuningEvent]) -> None:
    # Let the engine's run clean up when the job stops early (an async generator's finally).
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
