"""How soon `Operation.result()` returns once the server marks the operation done.

1. Notice latency on a manual clock: a tuning job is started, a client (sync: in a thread;
   async: a task on the caller's loop) calls `result()` on it, and once its WaitOperation is
   held by the server another thread advances the clock by the job's duration. The time from
   the server marking the operation done (`Operations.complete`, wrapped here to record the
   moment) to `result()` returning is the latency. Target: median 50 ms or less.
2. Against google-api-core: on a real clock, jobs that take JOB_SECONDS are waited for by
   our sync client and by `google.api_core.operation.from_gapic(...).result()` with its
   default polling (initial 1 s, x1.5, full jitter), side by side. Printed: the RPCs each
   spent waiting (WaitOperation + GetOperation for that operation in the server's journal,
   counted from the call to `result()`, so our handle's own GetOperation is left out) and
   the notice latency; api-core's is expected to be up to one polling interval.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import grpc
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2, tuned_model_service_pb2_grpc

import textgen
from textgen.testing import FakeServer
from textgen.testing.pacing import Progression

SAMPLES = 20  # manual-clock operations per client
JOB_SECONDS = 3.0  # clock seconds a tuning job takes
PAIRS = 6  # real-clock operations per waiter, all waited for at once
TARGET_MS = 50.0
WAITS = (
    "/google.longrunning.Operations/WaitOperation",
    "/google.longrunning.Operations/GetOperation",
)


def _create_request() -> tuned_model_service_pb2.CreateTunedModelRequest:
    """A one-step tuning job: it finishes after JOB_SECONDS of clock time."""
    example = tuned_model_pb2.TuningExample(text_input="III", output="IV")
    return tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model=tuned_model_pb2.TunedModel(
            base_model="models/gemini-1.0-pro-001",
            tuning_task=tuned_model_pb2.TuningTask(
                training_data=tuned_model_pb2.TuningDataset(
                    examples=tuned_model_pb2.TuningExamples(examples=[example])
                ),
                hyperparameters=tuned_model_pb2.Hyperparameters(epoch_count=1, batch_size=1),
            ),
        )
    )


def _record_completions(fake: FakeServer) -> dict[str, float]:
    """perf_counter() at the moment each operation is marked done, by name."""
    done_at: dict[str, float] = {}
    complete = fake.operations.complete

    async def recording(name: str, response: Any) -> bool:  # noqa: ANN401
        finished = await complete(name, response)
        done_at[name] = time.perf_counter()
        return finished

    fake.operations.complete = recording  # type: ignore[method-assign]
    return done_at


def _wait_rpcs(fake: FakeServer, name: str) -> int:
    """WaitOperation and GetOperation calls the server received for one operation."""
    return sum(
        1 for call in fake.journal.calls() if call.method in WAITS and call.request.name == name
    )


def _until_held(fake: FakeServer, name: str) -> None:
    """Block until a WaitOperation for `name` is held by the server."""
    while fake.operations.waiting(name) < 1:
        time.sleep(0.001)


def _wait(handle: Any, returned: list[float]) -> None:  # noqa: ANN401  (an Operation)
    handle.result(timeout=30)
    returned.append(time.perf_counter())


def _sync_manual() -> tuple[list[float], list[int]]:
    """Notice latencies (seconds) and waiting RPCs of the sync client, manual clock."""
    latencies, rpcs = [], []
    with (
        FakeServer(clock="manual") as fake,
        textgen.Client(fake.target) as client,
        fake.channel() as channel,
    ):
        done_at = _record_completions(fake)
        tuning = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
        for _ in range(SAMPLES):
            name = tuning.CreateTunedModel(_create_request(), timeout=10).name
            handle = client.operations.get(name)
            before = _wait_rpcs(fake, name)
            returned: list[float] = []
            waiter = threading.Thread(target=_wait, args=(handle, returned))
            waiter.start()
            _until_held(fake, name)
            fake.advance(JOB_SECONDS)
            waiter.join(30)
            latencies.append(returned[0] - done_at[name])
            rpcs.append(_wait_rpcs(fake, name) - before)
    return latencies, rpcs


def _async_manual() -> tuple[list[float], list[int]]:
    """The same for the async client, with the server on the client's own event loop.

    grpc.aio does not support two event loops at once in one process, so the server is not
    on a thread here: a task waits and the clock is advanced from the same loop.
    """
    return asyncio.run(_async_samples())


async def _async_samples() -> tuple[list[float], list[int]]:
    latencies, rpcs = [], []

    async def wait(handle: Any) -> float:  # noqa: ANN401  (an AsyncOperation)
        await handle.result(timeout=30)
        return time.perf_counter()

    async with (
        FakeServer(clock="manual") as fake,
        fake.aio_channel() as channel,
        textgen.AsyncClient(fake.target) as client,
    ):
        done_at = _record_completions(fake)
        tuning = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
        for _ in range(SAMPLES):
            name = (await tuning.CreateTunedModel(_create_request(), timeout=10)).name
            handle = await client.operations.get(name)
            before = _wait_rpcs(fake, name)
            waiter = asyncio.ensure_future(wait(handle))
            while fake.operations.waiting(name) < 1:
                await asyncio.sleep(0.001)
            await fake.advance_async(JOB_SECONDS)
            returned = await waiter
            latencies.append(returned - done_at[name])
            rpcs.append(_wait_rpcs(fake, name) - before)
    return latencies, rpcs


def _api_core_waiter(channel: grpc.Channel) -> Callable[[Any], None]:
    """Wait for an Operation proto with google-api-core's default polling."""
    with warnings.catch_warnings():  # api-core warns about Python versions nearing their end
        warnings.simplefilter("ignore", FutureWarning)
        from google.api_core import operation, operations_v1  # noqa: PLC0415

    client = operations_v1.OperationsClient(channel)

    def wait(started: Any) -> None:  # noqa: ANN401
        operation.from_gapic(
            started,
            client,
            tuned_model_pb2.TunedModel,
            metadata_type=tuned_model_service_pb2.CreateTunedModelMetadata,
        ).result()

    return wait


def _real_clock() -> dict[str, tuple[list[float], list[int]]]:
    """Ours and api-core's notice latencies and waiting RPCs, PAIRS jobs each, all at once."""
    figures: dict[str, tuple[list[float], list[int]]] = {"textgen": ([], []), "api-core": ([], [])}
    progression = Progression.after_duration(JOB_SECONDS)
    with (
        FakeServer(clock="real", progression=progression) as fake,
        textgen.Client(fake.target) as client,
        fake.channel() as channel,
    ):
        done_at = _record_completions(fake)
        tuning = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
        api_core_wait = _api_core_waiter(channel)
        returned: dict[str, float] = {}
        jobs: list[tuple[str, str, int, threading.Thread]] = []

        def run(name: str, action: Callable[[], object]) -> None:
            action()
            returned[name] = time.perf_counter()

        for _ in range(PAIRS):
            for who in figures:
                started = tuning.CreateTunedModel(_create_request(), timeout=10)
                name = started.name
                action: Callable[[], object] = (
                    functools.partial(client.operations.get(name).result, timeout=60)
                    if who == "textgen"
                    else functools.partial(api_core_wait, started)
                )
                before = _wait_rpcs(fake, name)
                thread = threading.Thread(target=run, args=(name, action))
                thread.start()
                jobs.append((who, name, before, thread))
        for who, name, before, thread in jobs:
            thread.join(60)
            figures[who][0].append(returned[name] - done_at[name])
            figures[who][1].append(_wait_rpcs(fake, name) - before)
    return figures


def _ms(values: list[float]) -> tuple[float, float]:
    """Median and p90 (interpolated between samples, never beyond them), in milliseconds."""
    p90 = statistics.quantiles(values, n=10, method="inclusive")[-1]
    return statistics.median(values) * 1e3, p90 * 1e3


def main() -> None:
    """Print notice latencies (median, p90), RPCs spent waiting, and api-core/textgen ratios."""
    for kind, (latencies, rpcs) in (
        ("sync", _sync_manual()),
        ("async", _async_manual()),
    ):
        median, p90 = _ms(latencies)
        verdict = "within" if median <= TARGET_MS else "OVER"
        print(
            f"{kind} result() after done (manual clock, {SAMPLES} operations): median "
            f"{median:.2f} ms, p90 {p90:.2f} ms ({verdict} the {TARGET_MS:.0f} ms target); "
            f"waiting RPCs per operation: median {statistics.median(rpcs):g}, max {max(rpcs)}"
        )
    figures = _real_clock()
    (ours, our_rpcs), (theirs, their_rpcs) = figures["textgen"], figures["api-core"]
    for who, (latencies, rpcs) in figures.items():
        median, p90 = _ms(latencies)
        print(
            f"{who} (sync, real clock, {PAIRS} jobs of {JOB_SECONDS:g} s at once): notice "
            f"median {median:.1f} ms, p90 {p90:.1f} ms, max {max(latencies) * 1e3:.1f} ms; "
            f"waiting RPCs per operation: median "
            f"{statistics.median(rpcs):g}, total {sum(rpcs)}"
        )
    print(
        f"ratio api-core / textgen: waiting RPCs {sum(their_rpcs) / sum(our_rpcs):.1f}x, "
        f"notice latency (medians) {statistics.median(theirs) / statistics.median(ours):.0f}x"
    )
