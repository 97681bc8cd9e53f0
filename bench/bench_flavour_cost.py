"""Server CPU per call by an upstream API's name, against our own name and a bare server.

One `textgen.server.app.serve` (the fake engine) answers GetModel by two paths: ours,
`/textgen.v1.ModelService/GetModel`, and Google's,
`/google.ai.generativelanguage.v1beta.ModelService/GetModel`, which the flavour handler
serves with the same handler plus the route that the policies see. The baseline is a bare
grpc.aio server answering Google's path with the very bytes ours answers (checked), with no
interceptor, validation or engine. The servers run in this process on one event loop; the
client is this file run again as a subprocess (`--client`), sending pre-serialized requests,
4 in flight, so `time.process_time()` here counts the servers' CPU. Phases take turns in
interleaved rounds, their order rotated every round; printed: CPU per call, the median ratio
of each round and its min-max spread. Target: Google's path at most 1.05x ours. The harness
is bench/_server_cpu.py, shared with bench_http_cost.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from pathlib import Path

import grpc
from textgen.v1 import model_service_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server_cpu import (
    Job,
    bare_server,
    client_loop,
    cpu_rounds,
    in_flight,
    print_per_call,
    ratio,
)

OURS = "/textgen.v1.ModelService/GetModel"
GOOGLE = "/google.ai.generativelanguage.v1beta.ModelService/GetModel"
REQUEST = model_service_pb2.GetModelRequest(name="models/text-bison-001").SerializeToString()
CALLS = 800
ROUNDS = 12
TARGET = 1.05


async def _client() -> None:
    """Run each job (target, path, calls) from stdin."""
    channels: dict[str, grpc.aio.Channel] = {}

    async def run(job: Job) -> None:
        if job["target"] not in channels:
            channels[job["target"]] = grpc.aio.insecure_channel(job["target"])
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]
        call = channels[job["target"]].unary_unary(job["path"])
        await in_flight(lambda: call(REQUEST, timeout=60), job["calls"])

    await client_loop(run)
    for channel in channels.values():
        await channel.close()


async def _measure() -> dict[str, list[float]]:
    from textgen.server.app import serve  # noqa: PLC0415
    from textgen.server.state import ServerState  # noqa: PLC0415
    from textgen.testing.fake_engine.engine import FakeEngine  # noqa: PLC0415

    running = await serve(ServerState(engine=FakeEngine()), health=False, reflection=False)
    ours_target = f"127.0.0.1:{running.port}"
    async with grpc.aio.insecure_channel(ours_target) as channel:
        answers: dict[str, bytes] = {}
        for path in (OURS, GOOGLE):
            raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path)
            answers[path] = await raw(REQUEST)
    assert answers[OURS] == answers[GOOGLE]
    bare, bare_port = await bare_server(GOOGLE, model_service_pb2.GetModelRequest, answers[GOOGLE])
    phases = {
        "ours": {"target": ours_target, "path": OURS},
        "google": {"target": ours_target, "path": GOOGLE},
        "bare": {"target": f"127.0.0.1:{bare_port}", "path": GOOGLE},
    }
    cpu = await cpu_rounds(__file__, phases, ROUNDS, CALLS)
    await bare.stop(None)
    await running.stop(None)
    return cpu


def main() -> None:
    """Measure and print."""
    cpu = asyncio.run(_measure())
    labels = {"google": "Google's path", "ours": "ours", "bare": "bare"}
    print_per_call("GetModel", cpu, CALLS, labels)
    ratios = [a / b for a, b in zip(cpu["google"], cpu["ours"], strict=True)]
    verdict = "within" if statistics.median(ratios) <= TARGET else "ABOVE"
    print(f"Google's path / ours: {ratio(cpu, 'google', 'ours')} ({verdict} {TARGET}x)")
    print(f"Google's path / bare: {ratio(cpu, 'google', 'bare')}")
    print(f"ours / bare:          {ratio(cpu, 'ours', 'bare')}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        asyncio.run(_client())
    else:
        main()
