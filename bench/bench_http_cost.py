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
median ratio of the rounds with its min-max spread. The harness is bench/_server_cpu.py,
shared with bench_flavour_cost.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import grpc
from textgen.v1 import content_pb2, model_service_pb2

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


async def _client() -> None:
    """Run each job (kind, target, calls) from stdin."""
    import aiohttp  # noqa: PLC0415

    request = REQUEST.SerializeToString()
    channels: dict[str, grpc.aio.Channel] = {}
    async with aiohttp.ClientSession() as session:

        async def send_http(url: str) -> None:
            async with session.post(
                url, data=BODY, headers={"content-type": "application/json"}
            ) as response:
                assert response.status == 200
                await response.read()

        async def run(job: Job) -> None:
            target = job["target"]
            if job["kind"] == "http":
                await in_flight(lambda: send_http(target), job["calls"])
                return
            if target not in channels:
                channels[target] = grpc.aio.insecure_channel(target)
            call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]
            call = channels[target].unary_unary(GRPC_PATH)
            await in_flight(lambda: call(request, timeout=60), job["calls"])

        await client_loop(run)
    for channel in channels.values():
        await channel.close()


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
    model_service_pb2.GenerateContentResponse.FromString(answer)  # a real answer
    request_type = model_service_pb2.GenerateContentRequest
    bare, bare_port = await bare_server(GRPC_PATH, request_type, answer)
    phases = {
        "http": {"kind": "http", "target": f"http://127.0.0.1:{running.http.port}{HTTP_PATH}"},
        "grpc": {"kind": "grpc", "target": target},
        "bare": {"kind": "grpc", "target": f"127.0.0.1:{bare_port}"},
    }
    cpu = await cpu_rounds(__file__, phases, ROUNDS, CALLS)
    await bare.stop(None)
    await running.stop(None)
    return cpu


def main() -> None:
    """Measure and print."""
    cpu = asyncio.run(_measure())
    labels = {"http": "HTTP/JSON", "grpc": "gRPC", "bare": "bare gRPC"}
    print_per_call("GenerateContent", cpu, CALLS, labels)
    print(f"HTTP / gRPC: {ratio(cpu, 'http', 'grpc')}")
    print(f"HTTP / bare: {ratio(cpu, 'http', 'bare')}")
    print(f"gRPC / bare: {ratio(cpu, 'grpc', 'bare')}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        asyncio.run(_client())
    else:
        main()
