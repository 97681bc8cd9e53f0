"""Operation store throughput, memory against SQLite and PostgreSQL, side by side.

Each round, on each store, runs PER_ROUND operation lifecycles with AT_ONCE in flight: create
an operation, read it, and finish it with a compare-and-set (what a short job's
create -> get -> done costs the store). The stores take turns within a round (A/B
interleaved), ROUNDS rounds; the figure per store is the median operations per second with
its min-max spread, and its ratio to the memory store measured in the same round. PostgreSQL
is a throwaway cluster on a unix socket (tests/pg_cluster.py); it is left out, saying why,
when initdb or psycopg is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from google.longrunning import operations_proto_pb2 as operations_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textgen.server.storage import StoredOperation, Stores, modify
from textgen.server.storage.backends import Backend, open_backend

ROUNDS = 5
PER_ROUND = 400
AT_ONCE = 16


async def _lifecycles(stores: Stores, tag: str) -> float:
    # Operations per second over PER_ROUND create -> get -> finish lifecycles.
    table = stores.operations
    gate = asyncio.Semaphore(AT_ONCE)

    def finish(stored: StoredOperation) -> StoredOperation:
        stored.operation.done = True
        return stored

    async def one(number: int) -> None:
        async with gate:
            name = f"operations/{tag}-{number}"
            await table.create(StoredOperation(operations_pb2.Operation(name=name), "bench"))
            await table.get(name)
            await modify(table, name, finish)

    started = time.perf_counter()
    await asyncio.gather(*(one(number) for number in range(PER_ROUND)))
    return PER_ROUND / (time.perf_counter() - started)


async def _run(backends: dict[str, Backend]) -> None:
    rates: dict[str, list[float]] = {kind: [] for kind in backends}
    ratios: dict[str, list[float]] = {kind: [] for kind in backends}
    for number in range(ROUNDS):
        measured = {
            kind: await _lifecycles(backend.stores, f"{number}")
            for kind, backend in backends.items()
        }
        for kind, rate in measured.items():
            rates[kind].append(rate)
            ratios[kind].append(rate / measured["memory"])
    print(f"operation lifecycles (create, get, finish), {PER_ROUND} x {ROUNDS} rounds:")
    for kind in backends:
        print(
            f"  {kind:9} {statistics.median(rates[kind]):9.0f} ops/s "
            f"(min {min(rates[kind]):.0f}, max {max(rates[kind]):.0f}); "
            f"x{statistics.median(ratios[kind]):.3f} of memory "
            f"(spread {min(ratios[kind]):.3f}-{max(ratios[kind]):.3f})"
        )


async def _main() -> None:
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        backends = {
            "memory": await open_backend("memory:"),
            "sqlite": await open_backend(f"sqlite://{directory / 'bench.db'}"),
        }
        try:
            from tests.pg_cluster import cluster  # noqa: PLC0415

            running = stack.enter_context(cluster())
            backends["postgres"] = await open_backend(running.url())
        except (ImportError, FileNotFoundError) as error:
            print(f"postgres left out: {error}")
        try:
            await _run(backends)
        finally:
            for backend in backends.values():
                await backend.close()


def main() -> None:
    """Print each store's operations per second and its ratio to memory."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
