"""What the store and replica benchmarks share: a throwaway PostgreSQL cluster with fresh
databases (tests/pg_cluster.py), `textgen serve` processes on a store, and the figures'
format (median with its min-max spread). Not a benchmark itself (bench/run.py runs only
bench_*.py)."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.pg_cluster import cluster, create_database  # noqa: E402

START_SECONDS = 60.0  # how long a server may take to print its listening line


@contextlib.contextmanager
def postgres(*names: str) -> Iterator[dict[str, str]]:
    """A throwaway cluster with an empty database per name; their URLs by name. Raises
    FileNotFoundError (initdb missing) or ImportError (psycopg missing) to be reported."""
    import psycopg  # noqa: F401, PLC0415  (fail before starting a cluster)

    with cluster() as running:
        for name in names:
            create_database(running.url(), name)
        yield {name: running.url(name) for name in names}


@contextlib.contextmanager
def servers(count: int, *args: str, cwd: Path = ROOT) -> Iterator[list[str]]:
    """`count` processes of `python -m textgen serve --port 0 *args`, started together;
    their targets. Each is terminated (then killed) on the way out."""
    command = [sys.executable, "-m", "textgen", "serve", "--port", "0", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)])}
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=cwd, env=env
        )
        for _ in range(count)
    ]
    try:
        targets = []
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()  # "... listening on HOST:PORT"
            if not line:
                raise RuntimeError(f"a server did not start: {command}")
            targets.append(line.rsplit(" ", 1)[-1].strip())
        yield targets
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def spread(values: Sequence[float], unit: str = "", digits: int = 2) -> str:
    """The median with the min-max spread: `12.30 ms (min 11.00, max 15.20)`."""
    return (
        f"{statistics.median(values):.{digits}f}{unit} "
        f"(min {min(values):.{digits}f}, max {max(values):.{digits}f})"
    )
