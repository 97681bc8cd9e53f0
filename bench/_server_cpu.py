"""What the server CPU benchmarks share (bench_http_cost, bench_flavour_cost): the client, which
is the benchmark's own file run again as a subprocess and fed one job a line; interleaved
rounds timed with `time.process_time()` in the servers' process; the bare grpc.aio baseline
answering fixed bytes; and the ratio format. Not a benchmark itself (bench/run.py runs only
bench_*.py)."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

IN_FLIGHT = 4
OPTIONS = [("grpc.so_reuseport", 0)]
Job = dict[str, Any]


async def in_flight(send: Callable[[], Awaitable[object]], count: int) -> None:
    """`count` sends, IN_FLIGHT of them at a time."""
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def client_loop(run: Callable[[Job], Awaitable[None]]) -> None:
    """The client side: run each job read from stdin (one JSON object a line), and answer a
    line when it is done."""
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        await run(json.loads(line))
        print("done", flush=True)


async def bare_server(
    path: str, request_type: type[Message], answer: bytes
) -> tuple[grpc.aio.Server, int]:
    """The baseline: a grpc.aio server that parses the request of `path` and answers
    `answer` as it is, with no interceptor, validation or engine; the server and its port."""

    async def reply(request: object, context: object) -> bytes:
        return answer

    handler: grpc.RpcMethodHandler[Message, bytes] = grpc.unary_unary_rpc_method_handler(
        reply, request_deserializer=request_type.FromString
    )
    service, method = path[1:].split("/")
    server = grpc.aio.server(options=OPTIONS)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {method: handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def cpu_rounds(
    script: str, phases: dict[str, Job], rounds: int, calls: int
) -> dict[str, list[float]]:
    """Run `script --client` and give it each phase's job (with `calls` added) in turn, for
    `rounds` rounds after one that warms up, the order rotated every round; this process's
    CPU seconds per call of each phase, one figure a round."""
    client = await asyncio.create_subprocess_exec(
        sys.executable, script, "--client", stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert client.stdin is not None and client.stdout is not None
    cpu: dict[str, list[float]] = {name: [] for name in phases}
    names = list(phases)
    for round_number in range(rounds + 1):
        turn = round_number % len(names)
        for name in names[turn:] + names[:turn]:
            start = time.process_time()
            job = {**phases[name], "calls": calls}
            client.stdin.write((json.dumps(job) + "\n").encode())
            await client.stdin.drain()
            await client.stdout.readline()
            if round_number:
                cpu[name].append((time.process_time() - start) / calls)
    client.stdin.close()
    await client.wait()
    return cpu


def ratio(cpu: dict[str, list[float]], top: str, bottom: str) -> str:
    """The median of the rounds' ratios top/bottom, with their min-max spread."""
    ratios = [a / b for a, b in zip(cpu[top], cpu[bottom], strict=True)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def print_per_call(
    what: str, cpu: dict[str, list[float]], calls: int, labels: dict[str, str]
) -> None:
    """One line: each phase's median CPU per call in microseconds, under its label."""
    rounds = len(next(iter(cpu.values())))
    figures = ", ".join(
        f"{label} {statistics.median(cpu[name]) * 1e6:.0f} us" for name, label in labels.items()
    )
    print(f"{what}, server CPU per call (medians of {rounds} rounds of {calls} calls): {figures}")
