"""Batch rows per second with three `textgen serve` replicas on one PostgreSQL database,
against one replica on another database of the same cluster, measured in the same run.

Two engines: the fake engine, whose rows are CPU work in the server process (so replicas
compete for the machine's cores with each other and with PostgreSQL), and _latency_engine,
whose rows wait LATENCY_SECONDS each as calls to a model server elsewhere would (there a
replica adds capacity without adding CPU load). Each engine has its own pair of databases:
one replica on the first, three on the second. In each of ROUNDS rounds a job of the same
ROWS prompts runs on the one replica, then on the three (A/B interleaved): started through
the first replica, waited on with WaitOperation, rows/s from the start to the answer. The
figure is the median rows/s with its min-max spread, and the ratio three/one per round.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2
from textgen.v1 import (
    dataset_pb2,
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    text_generation_batch_service_pb2,
    text_generation_batch_service_pb2_grpc,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _replicas import BENCH, postgres, servers, spread

ROUNDS = 3
MODEL = "models/text-bison-001"
ENGINES = {  # engine -> (serve arguments, rows per job)
    "fake (CPU)": (("--progression", "immediate"), 2000),
    "latency 50 ms": (("--engine", "_latency_engine:make"), 600),
}


def _dataset(target: str, rows: int, tag: str) -> str:
    with grpc.insecure_channel(target) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        prompts = [
            dataset_pb2.DatasetPrompt(text=f"Describe {n} in a sentence.") for n in range(rows)
        ]
        header = dataset_service_pb2.UploadDatasetHeader(
            dataset=dataset_pb2.Dataset(display_name=tag), dataset_id=tag
        )
        messages = [
            dataset_service_pb2.UploadDatasetRequest(header=header),
            dataset_service_pb2.UploadDatasetRequest(
                chunk=dataset_service_pb2.UploadDatasetChunk(rows=prompts)
            ),
        ]
        stub.UploadDataset(iter(messages), timeout=120)
    return tag


def _rows_per_second(target: str, dataset: str, rows: int) -> float:
    with grpc.insecure_channel(target) as channel:
        batches = text_generation_batch_service_pb2_grpc.TextGenerationBatchServiceStub(channel)
        operations = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
        request = text_generation_batch_service_pb2.BatchCompletionRequest(
            model_uri=MODEL, source_dataset_id=dataset
        )
        started = time.perf_counter()
        name = batches.Completion(request, timeout=60).name
        wait = operations_pb2.WaitOperationRequest(
            name=name, timeout=duration_pb2.Duration(seconds=120)
        )
        while not (done := operations.WaitOperation(wait, timeout=130)).done:
            pass
        elapsed = time.perf_counter() - started
        if done.HasField("error"):
            raise RuntimeError(f"the job failed: {done.error}")
        return rows / elapsed


def _engine(label: str, args: tuple[str, ...], rows: int, one: str, three: str) -> None:
    with (
        servers(1, "--store", one, *args, cwd=BENCH) as single,
        servers(3, "--store", three, *args, cwd=BENCH) as trio,
    ):
        _dataset(single[0], rows, "rows")
        _dataset(trio[0], rows, "rows")
        _rows_per_second(single[0], "rows", rows)  # warm up both
        _rows_per_second(trio[0], "rows", rows)
        alone: list[float] = []
        shared: list[float] = []
        for _ in range(ROUNDS):
            alone.append(_rows_per_second(single[0], "rows", rows))
            shared.append(_rows_per_second(trio[0], "rows", rows))
    ratios = [three / one for three, one in zip(shared, alone, strict=True)]
    print(f"{label}: {rows:,}-row jobs, {ROUNDS} rounds")
    print(f"  1 replica:   {spread(alone, ' rows/s', 0)}")
    print(f"  3 replicas:  {spread(shared, ' rows/s', 0)}")
    print(f"  3 / 1:       {spread(ratios, 'x')}")


def main() -> None:
    """Print rows/s with one and three replicas, and their ratio, for each engine."""
    names = [f"{kind}_{n}" for kind in ("cpu", "latency") for n in ("one", "three")]
    try:
        with postgres(*names) as urls:
            print(f"machine: {os.cpu_count()} cores, PostgreSQL on the same machine")
            for (label, (args, rows)), kind in zip(
                ENGINES.items(), ("cpu", "latency"), strict=True
            ):
                _engine(label, args, rows, urls[f"{kind}_one"], urls[f"{kind}_three"])
    except (ImportError, FileNotFoundError) as error:
        print(f"left out: {error}")
        return


if __name__ == "__main__":
    main()
