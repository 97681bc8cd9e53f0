"""Server CPU per GenerateContent call over HTTP/JSON, against the same call over gRPC.

One `textgen.server.app.serve` (the fake engine) with `http_port=0` answers GenerateContent
over gRPC (`/textgen.v1.ModelService/GenerateContent`) and over HTTP
(`POST /v1/models/gemini-1.5-flash:generateContent`, JSON), both through the same handler and
policies. The baseline is a bare grpc.aio server answering the gRPC path with the very bytes
the emulator answers (checked), with no interceptor, validation or engine. The servers run in
this process on one event loop; the client is this file run again as a subprocess
(`--client`): pre-encoded requests, 4 in flight, a grpc.aio channel or an aiohttp session
with keep-alive, so `time.process_time()` here counts the servers' CPU only. Phases take
turns in interleaved rounds, their order rotated every round; printed: CPU per call, and the
median ratio of the rounds with its min-max spread.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import grpc
from textgen.v1 import content_pb2, model_service_pb2

GRPC_PATH = "/textgen.v1.ModelService/GenerateContent"
HTTP_PATH = "/v1/models/gemini-1.5-flash:generateContent"
PROMPT = "Write a short story about a magic backpack."
REQUEST = model_service_pb2.GenerateContentRequest(
    model="models/gemini-1.5-flash",
    contents=[content_pb2.Content(role="user", parts=[content_pb2.Part(text=PROMPT)])],
)
BODY = json.dumps({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}).encode()
CALLS = 300
ROUNDS = 16
IN_FLIGHT = 4
OPTIONS = [("grpc.so_reuseport", 0)]


async def _workers(send: Any, count: int) -> None:  # noqa: ANN401
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def _client() -> None:
    """Run one job per stdin line (kind, target, calls); answer with a line when done."""
    import aiohttp  # noqa: PLC0415

    request = REQUEST.SerializeToString()
    channels: dict[str, grpc.aio.Channel] = {}
    async with aiohttp.ClientSession() as session:
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            job = json.loads(line)
            target = job["target"]
            if job["kind"] == "http":

                async def send_http(url: str = target) -> None:
                    async with session.post(
                        url, data=BODY, headers={"content-type": "application/json"}
                    ) as response:
                        assert response.status == 200
                        await response.read()

                await _workers(send_http, job["calls"])
            else:
                if target not in channels:
                    channels[target] = grpc.aio.insecure_channel(target)
                call = channels[target].unary_unary(GRPC_PATH)

                async def send_grpc(call: Any = call) -> None:  # noqa: ANN401
                    await call(request, timeout=60)

                await _workers(send_grpc, job["calls"])
            print("done", flush=True)
    for channel in channels.values():
        await channel.close()


async def _bare(answer: bytes) -> tuple[grpc.aio.Server, int]:
    reply = model_service_pb2.GenerateContentResponse.FromString(answer)
    assert reply.SerializeToString() == answer

    async def generate(request: object, context: object) -> bytes:
        return answer

    handler = grpc.unary_unary_rpc_method_handler(
        generate, request_deserializer=model_service_pb2.GenerateContentRequest.FromString
    )
    service, method = GRPC_PATH[1:].split("/")
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

    running = await serve(
        ServerState(engine=FakeEngine()), health=False, reflection=False, http_port=0
    )
    assert running.http is not None
    target = f"127.0.0.1:{running.port}"
    async with grpc.aio.insecure_channel(target) as channel:
        raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(GRPC_PATH)
        answer = await raw(REQUEST.SerializeToString())
    bare, bare_port = await _bare(answer)
    phases = {
        "http": ("http", f"http://127.0.0.1:{running.http.port}{HTTP_PATH}"),
        "grpc": ("grpc", target),
        "bare": ("grpc", f"127.0.0.1:{bare_port}"),
    }
    client = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert client.stdin is not None and client.stdout is not None
    cpu: dict[str, list[float]] = {name: [] for name in phases}
    names = list(phases)
    for round_number in range(ROUNDS + 1):  # the first round warms up
        order = names[round_number % 3 :] + names[: round_number % 3]
        for name in order:
            kind, where = phases[name]
            start = time.process_time()
            job = {"kind": kind, "target": where, "calls": CALLS}
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
        f"GenerateContent, server CPU per call (medians of {ROUNDS} rounds of {CALLS} calls): "
        f"HTTP/JSON {per_call['http']:.0f} us, gRPC {per_call['grpc']:.0f} us, "
        f"bare gRPC {per_call['bare']:.0f} us"
    )
    print(f"HTTP / gRPC: {_ratio(cpu, 'http', 'grpc')}")
    print(f"HTTP / bare: {_ratio(cpu, 'http', 'bare')}")
    print(f"gRPC / bare: {_ratio(cpu, 'grpc', 'bare')}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        asyncio.run(_client())
    else:
        main()
