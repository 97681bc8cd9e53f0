"""Crash tests with real processes: `textgen serve --store ...` killed with SIGKILL mid-job.

SQLite: one server, killed while a 2,000-row batch runs and a client waits on it, then
started again on the same file and port: the job finishes from its last completed batch with
every row once, in input order, what was created before is all there, and the waiting
client gets the result.

PostgreSQL: three servers on one database; a batch started through A and waited on through
B, A killed mid-job: the others finish it (A's leased batch once its lease lapses), every
row once, B's waiter is told, and more than one replica processed batches.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.v1 import tuned_model_pb2

import textgen
from tests.emulator.conftest import Emulator
from tests.pg_cluster import Cluster, create_database

ROWS = 2000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def get_operation(target: str, name: str) -> operations_pb2.Operation:
    with grpc.insecure_channel(target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
        found: operations_pb2.Operation = stub.GetOperation(
            operations_pb2.GetOperationRequest(name=name), timeout=10
        )
        return found


def completed_batches(target: str, name: str) -> int:
    operation = get_operation(target, name)
    metadata = batch_pb2.BatchCompletionMetadata()
    operation.metadata.Unpack(metadata)
    return metadata.completed_batches


def wait_until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_sqlite_batch_survives_kill_9(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    port = free_port()
    args = (
        "--port",
        str(port),
        "--store",
        f"sqlite://{tmp_path / 'state.db'}",
        "--progression",
        "duration",
        "--job-seconds",
        "3",
    )
    first = emulator_factory(*args)
    target = first.target
    with textgen.Client(target, timeout=30) as client:
        tuning = client.tuned_models.create(
            "models/gemini-1.0-pro-001", [("I", "II")], tuned_model_id="kept", epoch_count=1
        )
        tuning.result(timeout=60)
        prompts = client.datasets.create([f"row {n}" for n in range(ROWS)], dataset_id="prompts")
        job = client.batches.create("models/gemini-1.0-pro-001", dataset=prompts.name)
        name = job.name
        outcome: dict[str, object] = {}

        def wait() -> None:
            with textgen.Client(target, timeout=30) as waiter:
                try:
                    outcome["result"] = waiter.batches.get(name).result(timeout=120)
                except Exception as error:  # reported by the assertion below
                    outcome["error"] = error

        waiting = threading.Thread(target=wait)
        waiting.start()
        wait_until(lambda: completed_batches(target, name) >= 10)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    second = emulator_factory(*args)
    assert second.target == target
    waiting.join(120)
    assert not waiting.is_alive()
    assert "error" not in outcome, outcome.get("error")
    with textgen.Client(target, timeout=30) as client:
        operation = get_operation(target, name)
        assert operation.done and not operation.HasField("error")
        response = batch_pb2.BatchCompletionResponse()
        operation.response.Unpack(response)
        rows = list(client.datasets.read(response.result_dataset_id))
        assert len(rows) == ROWS
        assert [row.index for row in rows] == list(range(ROWS))
        assert [row.raw.result.input.text for row in rows] == [f"row {n}" for n in range(ROWS)]
        # Each row answered once: a completion, or the row's own error.
        assert all(row.raw.result.completion or row.raw.result.HasField("error") for row in rows)
        assert completed_batches(target, name) == ROWS // 20
        assert client.tuned_models.get("kept").state == tuned_model_pb2.TunedModel.ACTIVE
        assert client.datasets.get("prompts").row_count == ROWS


def test_postgres_replicas_share_a_batch_and_outlive_one(
    emulator_factory: Callable[..., Emulator], postgres_cluster: Cluster
) -> None:
    # Three replicas on one database: start through A, wait through B, kill A mid-job.
    import psycopg  # noqa: PLC0415

    create_database(postgres_cluster.url(), "replicas")
    url = postgres_cluster.url("replicas")
    args = ("--store", url, "--progression", "duration", "--job-seconds", "3")
    a, b, c = (emulator_factory(*args) for _ in range(3))
    rows = 400
    with textgen.Client(a.target, timeout=30) as client:
        prompts = client.datasets.create([f"row {n}" for n in range(rows)], dataset_id="prompts")
        name = client.batches.create("models/gemini-1.0-pro-001", dataset=prompts.name).name
    outcome: dict[str, object] = {}

    def wait() -> None:
        with textgen.Client(b.target, timeout=30) as waiter:
            try:
                outcome["result"] = waiter.batches.get(name).result(timeout=120)
            except Exception as error:  # reported by the assertion below
                outcome["error"] = error

    waiting = threading.Thread(target=wait)
    waiting.start()
    wait_until(lambda: completed_batches(b.target, name) >= 4)
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(10)
    waiting.join(120)
    assert not waiting.is_alive()
    assert "error" not in outcome, outcome.get("error")
    operation = get_operation(c.target, name)
    assert operation.done and not operation.HasField("error")
    response = batch_pb2.BatchCompletionResponse()
    operation.response.Unpack(response)
    with textgen.Client(c.target, timeout=30) as client:
        found = list(client.datasets.read(response.result_dataset_id))
    assert [row.index for row in found] == list(range(rows))
    assert [row.raw.result.input.text for row in found] == [f"row {n}" for n in range(rows)]
    assert completed_batches(c.target, name) == rows // 20
    with psycopg.connect(url) as conn:
        workers = [
            row[0]
            for row in conn.execute(b"SELECT worker FROM job_batches WHERE operation = %s", (name,))
        ]
    assert len(workers) == rows // 20
    processes = {worker.split(":")[1] for worker in workers}
    assert len(processes) > 1, processes
    assert str(a.process.pid) in processes  # A did some before it died
