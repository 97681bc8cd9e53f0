"""GetModel latency while a 100,000-row batch job runs, against the same server idle.

The server is the emulator (`python -m textgen serve`) in its own process, started once with
`--progression immediate` and once with the default progression (each job spread over 3
seconds of stages); this process is only the client. One prompt dataset of ROWS rows is
uploaded per server. Then, in ROUNDS interleaved rounds, the client times GetModel calls
(one at a time, a short pause between them) for PHASE_SECONDS with the server idle, then
starts a batch job over the whole dataset and times GetModel again for PHASE_SECONDS while
the job runs (it is checked to be still running at the end), then cancels the job. The job's
rows/s comes from its completed batches over the loaded phase (read with ListOperations,
which never waits on a job).

Printed per progression: GetModel p50 and p99 idle and during the job (median of the rounds,
with the min-max spread), the ratio of loaded p99 to idle p99, and rows/s. Target: p99 during
the job <= 50 ms.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import wrappers_pb2
from textgen.v1 import (
    dataset_pb2,
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    model_service_pb2,
    model_service_pb2_grpc,
    text_generation_batch_service_pb2,
    text_generation_batch_service_pb2_grpc,
)

ROWS = 100_000
CHUNK = 2_000  # rows per upload message
ROUNDS = 3
PHASE_SECONDS = 3.5
PAUSE_SECONDS = 0.002  # between two GetModel calls, so the client does not crowd the server
MODEL = "models/text-bison-001"
TARGET_P99_MS = 50.0
ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def _emulator(*args: str) -> Iterator[str]:
    command = [sys.executable, "-m", "textgen", "serve", "--port", "0", *args]
    # Popen as a context manager closes the stdout pipe on the way out as well.
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # "textgen emulator listening on HOST:PORT"
            yield line.rsplit(" ", 1)[-1].strip()
        finally:
            process.terminate()
            process.wait(30)


def _upload(channel: grpc.Channel) -> str:
    stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)

    def messages() -> Iterator[dataset_service_pb2.UploadDatasetRequest]:
        header = dataset_service_pb2.UploadDatasetHeader(
            dataset=dataset_pb2.Dataset(display_name="load"), dataset_id="load"
        )
        yield dataset_service_pb2.UploadDatasetRequest(header=header)
        for start in range(0, ROWS, CHUNK):
            rows = [
                dataset_pb2.DatasetPrompt(text=f"Describe the number {n} in one sentence.")
                for n in range(start, min(start + CHUNK, ROWS))
            ]
            chunk = dataset_service_pb2.UploadDatasetChunk(rows=rows)
            yield dataset_service_pb2.UploadDatasetRequest(chunk=chunk)

    dataset = stub.UploadDataset(messages(), timeout=120)
    return str(dataset.name).rsplit("/", 1)[-1]


def _latencies(stub: model_service_pb2_grpc.ModelServiceStub) -> list[float]:
    request = model_service_pb2.GetModelRequest(name=MODEL)
    samples: list[float] = []
    end = time.perf_counter() + PHASE_SECONDS
    while time.perf_counter() < end:
        start = time.perf_counter()
        stub.GetModel(request, timeout=120)
        samples.append(time.perf_counter() - start)
        time.sleep(PAUSE_SECONDS)
    return samples


def _completed_batches(operations: operations_pb2_grpc.OperationsStub, name: str) -> int:
    found = operations.ListOperations(operations_pb2.ListOperationsRequest(name="operations"))
    for operation in found.operations:
        if operation.name == name:
            metadata = text_generation_batch_service_pb2.BatchCompletionMetadata()
            operation.metadata.Unpack(metadata)
            if operation.done:
                raise RuntimeError(f"the job ended during the loaded phase: {operation.error}")
            return int(metadata.completed_batches)
    raise RuntimeError(f"{name} is not listed")


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _measure(progression: str) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {
        "idle p50": [],
        "idle p99": [],
        "loaded p50": [],
        "loaded p99": [],
        "rows/s": [],
        "calls": [],
    }
    with (
        _emulator("--progression", progression) as target,
        grpc.insecure_channel(target) as channel,
    ):
        models = model_service_pb2_grpc.ModelServiceStub(channel)
        batches = text_generation_batch_service_pb2_grpc.TextGenerationBatchServiceStub(channel)
        operations = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
        dataset_id = _upload(channel)
        _latencies(models)  # warm up
        for _ in range(ROUNDS):
            idle = _latencies(models)
            request = text_generation_batch_service_pb2.BatchCompletionRequest(
                model_uri=MODEL, source_dataset_id=dataset_id
            )
            request.completion_options.max_tokens.CopyFrom(wrappers_pb2.Int64Value(value=64))
            created = batches.Completion(request, timeout=60)
            before, started = _completed_batches(operations, created.name), time.perf_counter()
            loaded = _latencies(models)
            after, ended = _completed_batches(operations, created.name), time.perf_counter()
            operations.CancelOperation(
                operations_pb2.CancelOperationRequest(name=created.name), timeout=60
            )
            figures["idle p50"].append(_percentile(idle, 0.5) * 1e3)
            figures["idle p99"].append(_percentile(idle, 0.99) * 1e3)
            figures["loaded p50"].append(_percentile(loaded, 0.5) * 1e3)
            figures["loaded p99"].append(_percentile(loaded, 0.99) * 1e3)
            figures["rows/s"].append((after - before) * 20 / (ended - started))
            figures["calls"].append(float(len(loaded)))
    return figures


def _spread(values: list[float], unit: str) -> str:
    return (
        f"{statistics.median(values):.2f}{unit} "
        f"(min {min(values):.2f}{unit}, max {max(values):.2f}{unit})"
    )


def main() -> None:
    """Measure both progressions and print the figures."""
    for progression in ("immediate", "duration"):
        figures = _measure(progression)
        ratios = [
            loaded / idle
            for loaded, idle in zip(figures["loaded p99"], figures["idle p99"], strict=True)
        ]
        loaded_p99 = statistics.median(figures["loaded p99"])
        verdict = "meets" if max(figures["loaded p99"]) <= TARGET_P99_MS else "MISSES"
        print(f"--progression {progression}: {ROWS:,}-row job, {ROUNDS} rounds")
        print(f"  GetModel p50 idle:     {_spread(figures['idle p50'], ' ms')}")
        print(f"  GetModel p50 loaded:   {_spread(figures['loaded p50'], ' ms')}")
        print(f"  GetModel p99 idle:     {_spread(figures['idle p99'], ' ms')}")
        print(f"  GetModel p99 loaded:   {_spread(figures['loaded p99'], ' ms')}")
        print(f"  p99 loaded / idle:     {_spread(ratios, 'x')}")
        print(f"  calls per loaded phase: {_spread(figures['calls'], '')}")
        print(f"  job rows/s:            {_spread(figures['rows/s'], '')}")
        print(
            f"  target p99 <= {TARGET_P99_MS:.0f} ms during the job: {verdict} "
            f"(median {loaded_p99:.2f} ms, worst round {max(figures['loaded p99']):.2f} ms)"
        )
