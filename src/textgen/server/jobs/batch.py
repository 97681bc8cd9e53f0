"""The batch completion job: every prompt row through the model, batch by batch.

The task moves CREATED -> PENDING -> IN_PROGRESS -> COMPLETED (or FAILED, or CANCELED
when its operation is cancelled), reporting BatchCompletionMetadata as batches of
ROWS_PER_BATCH rows finish. Results go to a new KIND_RESULTS dataset, one row per input in
order; a row that cannot be answered carries its own google.rpc.Status and the others go on.

The job shares the event loop with every call the server answers, so it never holds it for
long: within a batch, up to `ServerState.batch_concurrency` rows are in flight at once (each
awaiting the engine, which does its model work off the loop or in short pieces), and each
row ends by yielding to the loop. A batch's rows are stored together, in input order, once
all of them are answered; cancelling the job stops it there, between two batches, and
deletes the result dataset with the rows it had so far. A server shutdown stops the job at
the same boundary (Operations.pause).

Yielding is not enough when the rows themselves are CPU work on the loop's thread (the fake
engine's are): that thread then holds the GIL, and grpc's own threads, which move every other
call along, get it only when Python forces a switch (every 5 ms), several times per call. So
once the loop's thread has spent BUSY_SECONDS of CPU since the job last rested, the job rests
REST_SECONDS after its batch: the loop goes idle for a moment and those threads run. A job
whose engine waits on I/O seldom keeps the thread that busy, and never rests.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from google.rpc import code_pb2, error_details_pb2, status_pb2

from textgen.server.clock import timestamp
from textgen.server.engine import GenerationInput, SamplingParams
from textgen.server.generation.prompts import Prompt, from_messages, from_text, prompt_text
from textgen.server.generation.resolution import ResolvedModel
from textgen.server.generation.safety import (
    CONTENT_DEFAULT_CATEGORIES,
    TEXT_DEFAULT_CATEGORIES,
    SafetyPolicy,
    Verdict,
)
from textgen.server.generation.sampling import JSON_MIME_TYPE
from textgen.server.generation.screened import SAFETY, generate, screen_prompt
from textgen.server.lro.operations import Operation, Operations
from textgen.server.names import DATASET, GENERATED_ID_LENGTH, batch_operation_name
from textgen.server.rpc.errors import (
    DOMAIN,
    ServiceError,
    already_exists,
    invalid_argument,
    make_error,
)
from textgen.server.state import ServerState
from textgen.server.storage import DatasetRecord, RowBlock
from textgen.server.validation.generation_rules import prompt_size_violations
from textgen.v1 import dataset_pb2, message_pb2, safety_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

ROWS_PER_BATCH = 20
# CPU seconds of the loop's thread after which a job rests, and for how long (real seconds).
BUSY_SECONDS = 0.002
REST_SECONDS = 0.0001
Status = batch_pb2.BatchInferenceTaskStatus


class SourceGoneError(LookupError):
    """A dataset the job reads or writes was deleted while it ran (the job fails)."""


@dataclass(frozen=True)
class BatchPlan:
    """A validated batch request in the runner's terms."""

    owner: str
    model: ResolvedModel
    params: SamplingParams
    source: DatasetRecord


async def start_batch(state: ServerState, operations: Operations, plan: BatchPlan) -> Operation:
    """Create the result dataset and the `operations/{op}` operation, and start the job."""
    task_id = state.ids.suffix(GENERATED_ID_LENGTH)
    source_id = DATASET.id_of(plan.source.dataset.name)
    result_id = state.ids.suffix(GENERATED_ID_LENGTH)
    results = DatasetRecord(
        dataset=dataset_pb2.Dataset(
            name=DATASET.name(result_id),
            display_name=f"Batch {task_id} results",
            kind=dataset_pb2.Dataset.KIND_RESULTS,
            create_time=timestamp(state.clock),
            source_task_id=task_id,
            labels={
                "batch_task_id": task_id,
                "source_dataset": source_id,
                "model": plan.model.name,
            },
        ),
        owner=plan.owner,
    )
    if not await state.stores.datasets.create(results):
        raise already_exists(DATASET.type, results.name)
    rows = plan.source.dataset.row_count
    metadata = batch_pb2.BatchCompletionMetadata(
        task_id=task_id,
        task_status=Status.CREATED,
        total_batches=math.ceil(rows / ROWS_PER_BATCH),
    )
    name = batch_operation_name(task_id)
    operation = await operations.create(name, plan.owner, metadata, description="Batch completion")
    if state.durable is not None:  # a durable store's workers run it (jobs/durable.py)
        await state.durable.start_batch(plan, name, metadata, results.name)
        return operation
    job = _Job(state, operations, plan, name=name, metadata=metadata, results=results)
    operations.start(name, job.run(rows), on_cancel=job.cancelled)
    return operation


async def answer_rows(
    state: ServerState,
    operations: Operations,
    plan: BatchPlan,
    first: int,
    prompts: Sequence[dataset_pb2.DatasetPrompt],
) -> list[dataset_pb2.DatasetRow]:
    """One batch's answers, rows `first` on, in input order: the runner's row code (engine
    calls, safety, one error per failed row) without its stages, for a caller that stores
    the rows itself (textgen.server.jobs.durable)."""
    metadata = batch_pb2.BatchCompletionMetadata()
    unused = DatasetRecord(dataset_pb2.Dataset(), plan.owner)  # the caller keeps the rows
    job = _Job(state, operations, plan, name="", metadata=metadata, results=unused)
    return await job._answer(first, prompts)


def _policy(plan: BatchPlan) -> SafetyPolicy:
    content = "generateContent" in plan.model.base.supported_generation_methods
    return SafetyPolicy.build(
        [], CONTENT_DEFAULT_CATEGORIES if content else TEXT_DEFAULT_CATEGORIES
    )


def _prompt(prompt: dataset_pb2.DatasetPrompt) -> Prompt:
    if prompt.WhichOneof("prompt") == "messages":
        return from_messages(message_pb2.MessagePrompt(messages=prompt.messages.messages))
    return from_text(prompt.text)


def _blocked(verdict: Verdict, what: str) -> status_pb2.Status:
    categories = sorted({safety_pb2.HarmCategory.Name(b.rating.category) for b in verdict.blocks})
    return make_error(
        code_pb2.INVALID_ARGUMENT,
        f"The {what} was blocked for safety ({', '.join(categories) or 'unrated'})",
        error_details_pb2.ErrorInfo(
            reason="SAFETY_BLOCKED", domain=DOMAIN, metadata={"categories": ",".join(categories)}
        ),
    ).status


class _Job:
    # One batch task: its stages, its metadata and its result dataset.

    def __init__(
        self,
        state: ServerState,
        operations: Operations,
        plan: BatchPlan,
        *,
        name: str,
        metadata: batch_pb2.BatchCompletionMetadata,
        results: DatasetRecord,
    ) -> None:
        self.state, self.operations, self.plan = state, operations, plan
        self.name, self.metadata, self.results = name, metadata, results
        self.source = plan.source.name
        self.policy = _policy(plan)
        self.concurrency = max(1, state.batch_concurrency)
        self.rested = time.thread_time()

    async def run(self, rows: int) -> None:
        # The stages a pacer may hold the job at: before PENDING, before IN_PROGRESS, and
        # before each batch.
        stages = 2 + self.metadata.total_batches
        try:
            await self.operations.pause(self.name, stages)
            await self._status(Status.PENDING)
            await self.operations.pause(self.name, stages)
            await self._status(Status.IN_PROGRESS)
            datasets = self.state.stores.datasets
            for start in range(0, rows, ROWS_PER_BATCH):
                await self.operations.pause(self.name, stages)
                stop = min(start + ROWS_PER_BATCH, rows)
                found = await datasets.read_rows(self.plan.owner, self.source, start, stop)
                batch = [row.prompt for row in found]
                if len(batch) != stop - start:
                    raise SourceGoneError(f"{self.source} was deleted while the batch ran")
                answered = await self._answer(start, batch)
                block = RowBlock.of_results(row.result for row in answered)
                if await datasets.append_rows(self.plan.owner, self.results.name, block) is None:
                    raise SourceGoneError(f"{self.results.name} was deleted while the batch ran")
                self.metadata.completed_batches += 1
                await self.operations.update_metadata(self.name, self.metadata)
                await self._rest_if_busy()
        except Exception as exc:
            await self._status(Status.FAILED)
            await self.operations.fail(
                self.name,
                status_pb2.Status(
                    code=code_pb2.INTERNAL, message=f"The batch failed ({type(exc).__name__})"
                ),
            )
            return
        await self._status(Status.COMPLETED)
        await self.operations.complete(
            self.name,
            batch_pb2.BatchCompletionResponse(
                task_id=self.metadata.task_id,
                task_status=Status.COMPLETED,
                result_dataset_id=DATASET.id_of(self.results.dataset.name),
            ),
        )

    async def _rest_if_busy(self) -> None:
        # See the module docstring: let grpc's threads have the GIL after a busy stretch.
        if time.thread_time() - self.rested >= BUSY_SECONDS:
            await asyncio.sleep(REST_SECONDS)
            self.rested = time.thread_time()

    async def cancelled(self) -> None:
        # A cancelled task keeps no partial results: its result dataset goes with them.
        await self._status(Status.CANCELED)
        await self.state.stores.datasets.delete(self.plan.owner, self.results.name)

    async def _status(self, status: batch_pb2.BatchInferenceTaskStatus.ValueType) -> None:
        self.metadata.task_status = status
        await self.operations.update_metadata(self.name, self.metadata)

    async def _answer(
        self, first: int, prompts: Sequence[dataset_pb2.DatasetPrompt]
    ) -> list[dataset_pb2.DatasetRow]:
        # One batch: at most `concurrency` rows at a time, each worker yielding to the loop
        # after each row; the answers come back in input order.
        answers: list[dataset_pb2.DatasetRow | None] = [None] * len(prompts)
        waiting = iter(range(len(prompts)))

        async def worker() -> None:
            for offset in waiting:  # shared: each worker takes the next unanswered row
                answers[offset] = await self._row(first + offset, prompts[offset])
                await asyncio.sleep(0)

        workers = min(self.concurrency, len(prompts))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return [answer for answer in answers if answer is not None]

    async def _row(self, index: int, source: dataset_pb2.DatasetPrompt) -> dataset_pb2.DatasetRow:
        result = dataset_pb2.DatasetResult(input=source)
        try:
            self._fill(result, await self._generate(source, result))
        except ServiceError as error:  # the engine refused this row in its own words
            result.error.CopyFrom(error.status)
        except Exception as exc:  # one row's failure must not stop the others
            result.error.CopyFrom(
                status_pb2.Status(
                    code=code_pb2.INTERNAL, message=f"The row failed ({type(exc).__name__})"
                )
            )
        return dataset_pb2.DatasetRow(index=index, result=result)

    async def _generate(
        self, source: dataset_pb2.DatasetPrompt, result: dataset_pb2.DatasetResult
    ) -> status_pb2.Status | str:
        model, engine = self.plan.model, self.state.engine
        prompt = _prompt(source)
        text = prompt_text(prompt)
        tokens = await engine.count_tokens(model.base, text)
        result.input_token_count = tokens
        too_long = prompt_size_violations(tokens, model.base, "prompt")
        if too_long:
            return invalid_argument(too_long).status
        request = GenerationInput(
            model=model.base,
            contents=prompt.contents,
            params=self.plan.params,
            adapter=model.adapter,
            system_instruction=prompt.system_instruction,
        )
        verdict = await screen_prompt(engine, request, self.policy, text)
        if verdict.blocked:
            return _blocked(verdict, "prompt")
        screened = await generate(engine, request, self.policy, verdict, tokens)
        if not screened.candidates:
            return make_error(code_pb2.INTERNAL, "The model gave no answer").status
        first = screened.candidates[0]
        if first.verdict.blocked or first.candidate.finish_reason == SAFETY:
            return _blocked(first.verdict, "completion")
        result.completion_token_count = first.candidate.token_count
        return first.candidate.text()

    def _fill(self, result: dataset_pb2.DatasetResult, outcome: status_pb2.Status | str) -> None:
        if isinstance(outcome, status_pb2.Status):
            result.error.CopyFrom(outcome)
        elif self.plan.params.response_mime_type == JSON_MIME_TYPE and not _is_json(outcome):
            result.error.CopyFrom(
                make_error(code_pb2.INTERNAL, "The model did not answer with valid JSON").status
            )
        else:
            result.completion = outcome


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
