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
of each round and its min-max spread. Target: Google's path at most 1.05x ours.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time

import grpc
from textgen.v1 import model_pb2, model_service_pb2

OURS = "/textgen.v1.ModelService/GetModel"
GOOGLE = "/google.ai.generativelanguage.v1beta.ModelService/GetModel"
REQUEST = model_service_pb2.GetModelRequest(name="models/text-bison-001").SerializeToString()
CALLS = 800
ROUNDS = 12
IN_FLIGHT = 4
TARGET = 1.05
OPTIONS = [("grpc.so_reuseport", 0)]


async def _calls(call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes], count: int) -> None:
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call(REQUEST, timeout=60)

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def _client() -> None:
    """Run one job per stdin line (target, path, calls); answer with a line when done."""
    channels: dict[str, grpc.aio.Channel] = {}
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        job = json.loads(line)
        if job["target"] not in channels:
            channels[job["target"]] = grpc.aio.insecure_channel(job["target"])
        await _calls(channels[job["target"]].unary_unary(job["path"]), job["calls"])
        print("done", flush=True)
    for channel in channels.values():
        await channel.close()


async def _bare(answer: bytes) -> tuple[grpc.aio.Server, int]:
    model = model_pb2.Model.FromString(answer)
    assert model.SerializeToString() == answer

    async def get_model(request: object, context: object) -> model_pb2.Model:
        return model

    handler = grpc.unary_unary_rpc_method_handler(
        get_model,
        request_deserializer=model_service_pb2.GetModelRequest.FromString,
        response_serializer=model_pb2.Model.SerializeToString,
    )
    service, method = GOOGLE[1:].split("/")
    server = grpc.aio.server(options=OPTIONS)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {method: handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


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
    bare, bare_port = await _bare(answers[GOOGLE])
    phases = {
        "ours": (ours_target, OURS),
        "google": (ours_target, GOOGLE),
        "bare": (f"127.0.0.1:{bare_port}", GOOGLE),
    }
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert client.stdin is not None and client.stdout is not None
    cpu: dict[str, list[float]] = {name: [] for name in phases}
    names = list(phases)
    for round_number in range(ROUNDS + 1):  # the first round warms up
        order = names[round_number % 3 :] + names[: round_number % 3]
        for name in order:
            target, path = phases[name]
            start = time.process_time()
            job = {"target": target, "path": path, "calls": CALLS}
            client.stdin.write((json.dumps(job) + "\n").encode())
            await client.stdin.drain()
            await client.stdout.readline()
            if round_number:
                cpu[name].append((time.process_time() - start) / CALLS)
    client.stdin.close()
    await client.wait()
    await bare.stop(None)
    await running.stop(None)
    return cpu


def _ratio(cpu: dict[str, list[float]], top: str, bottom: str) -> str:
    ratios = [a / b for a, b in zip(cpu[top], cpu[bottom], strict=True)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def main() -> None:
    """Measure and print."""
    cpu = asyncio.run(_measure())
    per_call = {name: statistics.median(values) * 1e6 for name, values in cpu.items()}
    print(
        f"GetModel, server CPU per call (medians of {ROUNDS} rounds of {CALLS} calls): "
        f"Google's path {per_call['google']:.0f} us, ours {per_call['ours']:.0f} us, "
        f"bare {per_call['bare']:.0f} us"
    )
    ratios = [a / b for a, b in zip(cpu["google"], cpu["ours"], strict=True)]
    verdict = "within" if statistics.median(ratios) <= TARGET else "ABOVE"
    print(f"Google's path / ours: {_ratio(cpu, 'google', 'ours')} ({verdict} {TARGET}x)")
    print(f"Google's path / bare: {_ratio(cpu, 'google', 'bare')}")
    print(f"ours / bare:          {_ratio(cpu, 'ours', 'bare')}")


def _run_client() -> None:
    asyncio.run(_client())


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        _run_client()
    else:
        main()
