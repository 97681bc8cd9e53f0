"""Server CPU per call, against a bare grpc.aio server that sends byte-identical answers.

Both servers run in this process on one event loop; the client is this file run again as a
subprocess (`--client`), so the CPU this process spends while a phase runs is the server's:
`time.process_time()` counts every thread here, grpc's own included. The client sends
pre-serialized requests and does not parse answers, so it stays out of the server's way.

The bare server is what a server written straight from the generated code would be: it decodes
each request with the generated deserializer and returns the very messages our server answered
for that request (captured first, and checked to serialize to the same bytes), with no
interceptor, validation or engine. The two take turns in interleaved rounds (ours, bare, bare,
ours, ...) and each round gives one ratio; the median ratio is printed with its min-max spread.

Cases:
1. GetModel and GenerateText (the fake engine), 4 calls in flight: CPU per call and
   throughput. For GenerateText the engine's own share is timed apart: the engine calls one
   request makes (recorded once) replayed alone. Targets: GetModel <= 1.1x bare,
   GenerateText <= 1.5x bare.
2. StreamGenerateContent, one stream at a time, answers of 256 and 8192 tokens (JSON mode with
   an array schema, so the prompt stays short while the answer grows): CPU per chunk at 8192
   tokens over CPU per chunk at 256 (target <= 1.2x, i.e. cost linear in the length), time to
   first chunk at each length, and each length against the bare server.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import grpc
from google.protobuf.message import Message
from textgen.v1 import (
    content_pb2,
    generation_pb2,
    model_pb2,
    model_service_pb2,
    text_pb2,
)

SERVICE = "textgen.v1.ModelService"
OPTIONS = [("grpc.so_reuseport", 0)]
TEXT_MODEL = "models/text-bison-001"
CONTENT_MODEL = "models/gemini-1.5-flash"
ROUNDS = 8  # each round runs ours and bare once each
IN_FLIGHT = 4  # unary calls the client keeps in flight
TIMEOUT = 60.0


class Case(NamedTuple):
    """One kind of call: the method, its request, how many calls a phase makes, the target."""

    label: str
    method: str
    request: Message
    response_type: type[Message]
    calls: int
    streaming: bool = False
    in_flight: int = IN_FLIGHT
    target: float | None = None


def _stream_request(tokens: int) -> model_service_pb2.GenerateContentRequest:
    """A short prompt whose answer is a JSON array long enough to be cut at `tokens` tokens.

    Each item is a quoted string of one to three words plus a comma, 4 to 6 tokens, so
    tokens // 3 items always reach the limit.
    """
    schema = content_pb2.Schema(
        type=content_pb2.ARRAY,
        min_items=tokens // 3,
        items=content_pb2.Schema(type=content_pb2.STRING),
    )
    return model_service_pb2.GenerateContentRequest(
        model=CONTENT_MODEL,
        contents=[content_pb2.Content(role="user", parts=[content_pb2.Part(text="List words")])],
        generation_config=generation_pb2.GenerationConfig(
            max_output_tokens=tokens,
            response_mime_type="application/json",
            response_schema=schema,
        ),
    )


UNARY_CASES = (
    Case(
        "GetModel",
        "GetModel",
        model_service_pb2.GetModelRequest(name=TEXT_MODEL),
        model_pb2.Model,
        calls=600,
        target=1.1,
    ),
    Case(
        "GenerateText",
        "GenerateText",
        model_service_pb2.GenerateTextRequest(
            model=TEXT_MODEL, prompt=text_pb2.TextPrompt(text="Write a haiku about gRPC")
        ),
        model_service_pb2.GenerateTextResponse,
        calls=400,
        target=1.5,
    ),
)
STREAM_TOKENS = (256, 8192)
STREAM_CASES = tuple(
    Case(
        f"StreamGenerateContent {tokens} tokens",
        "StreamGenerateContent",
        _stream_request(tokens),
        model_service_pb2.GenerateContentResponse,
        calls=8192 * 4 // tokens,  # a similar number of chunks per phase at each length
        streaming=True,
        in_flight=1,
    )
    for tokens in STREAM_TOKENS
)
CASES = (*UNARY_CASES, *STREAM_CASES)
LINEARITY_TARGET = 1.2


# --- the client (a subprocess) ------------------------------------------------------------


async def _job(channel: grpc.aio.Channel, job: dict[str, Any]) -> dict[str, Any]:
    """Run one job's calls; its wall time, each stream's time to first chunk, chunks seen."""
    path = f"/{SERVICE}/{job['method']}"
    payload = bytes.fromhex(job["request"])
    streaming = job["streaming"]
    call_unary = channel.unary_unary(path)
    call_stream = channel.unary_stream(path)
    first: list[float] = []
    chunks = 0
    remaining = job["calls"]

    async def worker() -> None:
        nonlocal chunks, remaining
        while remaining > 0:
            remaining -= 1
            if not streaming:
                await call_unary(payload, timeout=TIMEOUT)
                continue
            start = time.perf_counter()
            seen = 0
            async for _ in call_stream(payload, timeout=TIMEOUT):
                if seen == 0:
                    first.append(time.perf_counter() - start)
                seen += 1
            chunks += seen

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(job["in_flight"])))
    return {"wall": time.perf_counter() - start, "first": first, "chunks": chunks}


async def _client() -> None:
    """Read one job per stdin line, run it, answer one JSON line."""
    channels: dict[str, grpc.aio.Channel] = {}
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        job = json.loads(line)
        target = job["target"]
        if target not in channels:
            channels[target] = grpc.aio.insecure_channel(target)
        print(json.dumps(await _job(channels[target], job)), flush=True)
    for channel in channels.values():
        await channel.close()


# --- the servers ------------------------------------------------------------------------


EngineCall = tuple[str, tuple[Any, ...], dict[str, Any]]


class Recorder:
    """An engine stand-in that records every call made to the engine it wraps."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: list[EngineCall] = []

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        attr = getattr(self.inner, name)
        if not callable(attr) or name == "models":
            return attr

        def record(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            self.calls.append((name, args, kwargs))
            return attr(*args, **kwargs)

        return record


async def _drain(result: object) -> None:
    if inspect.isawaitable(result):
        await result
    elif isinstance(result, AsyncIterator):
        async for _ in result:
            pass


async def _engine_cpu(engine: object, calls: list[EngineCall]) -> dict[str, float]:
    """CPU seconds of each engine method over one replay of `calls`, median of many replays."""
    per_name: dict[str, list[float]] = {}
    for _ in range(200):
        spent: dict[str, float] = {}
        for name, args, kwargs in calls:
            start = time.process_time()
            await _drain(getattr(engine, name)(*args, **kwargs))
            spent[name] = spent.get(name, 0.0) + time.process_time() - start
        for name, seconds in spent.items():
            per_name.setdefault(name, []).append(seconds)
    # process_time has a coarse tick on some systems: use the mean of the replays.
    return {name: statistics.fmean(values) for name, values in per_name.items()}


async def _capture(port: int, case: Case) -> list[Message]:
    """What our server answers to the case's request, as messages."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        path = f"/{SERVICE}/{case.method}"
        payload = case.request.SerializeToString()
        if case.streaming:
            raw = [chunk async for chunk in channel.unary_stream(path)(payload, timeout=TIMEOUT)]
        else:
            raw = [await channel.unary_unary(path)(payload, timeout=TIMEOUT)]
    messages = [case.response_type.FromString(data) for data in raw]
    for data, message in zip(raw, messages, strict=True):
        assert message.SerializeToString() == data, f"{case.label}: answers would differ"
    return messages


def _bare_handler(case: Case, answers: list[Message]) -> grpc.RpcMethodHandler:
    decode = type(case.request).FromString
    encode = case.response_type.SerializeToString
    if case.streaming:

        async def stream(request: object, context: object) -> AsyncIterator[Message]:
            for answer in answers:
                yield answer

        return grpc.unary_stream_rpc_method_handler(
            stream, request_deserializer=decode, response_serializer=encode
        )
    (answer,) = answers

    async def unary(request: object, context: object) -> Message:
        return answer

    return grpc.unary_unary_rpc_method_handler(
        unary, request_deserializer=decode, response_serializer=encode
    )


async def _bare_server(handlers: dict[str, grpc.RpcMethodHandler]) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(options=OPTIONS)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


# --- measuring ------------------------------------------------------------------------------


class Phase(NamedTuple):
    """One phase: a case's calls against one server."""

    cpu: float  # server CPU seconds
    wall: float
    first: list[float]
    chunks: int


class Driver:
    """Sends jobs to the client subprocess and measures this process's CPU meanwhile."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    async def phase(self, port: int, case: Case) -> Phase:
        assert self._process.stdin is not None and self._process.stdout is not None
        job = {
            "target": f"127.0.0.1:{port}",
            "method": case.method,
            "request": case.request.SerializeToString().hex(),
            "calls": case.calls,
            "in_flight": case.in_flight,
            "streaming": case.streaming,
        }
        start = time.process_time()
        self._process.stdin.write((json.dumps(job) + "\n").encode())
        await self._process.stdin.drain()
        line = await self._process.stdout.readline()
        cpu = time.process_time() - start
        result = json.loads(line)
        return Phase(cpu, result["wall"], result["first"], result["chunks"])


class Rounds:
    """The phases of one case, ours and bare, in round order."""

    def __init__(self) -> None:
        self.ours: list[Phase] = []
        self.bare: list[Phase] = []


async def _rounds(driver: Driver, case: Case, ours: int, bare: int) -> Rounds:
    rounds = Rounds()
    await driver.phase(ours, case)  # warm up both
    await driver.phase(bare, case)
    for number in range(ROUNDS):
        order = [("ours", ours), ("bare", bare)]
        if number % 2:
            order.reverse()
        for kind, port in order:
            getattr(rounds, kind).append(await driver.phase(port, case))
    return rounds


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def _per_call(phases: list[Phase], case: Case) -> list[float]:
    return [phase.cpu / case.calls for phase in phases]


def _report_unary(case: Case, rounds: Rounds, engine: dict[str, float] | None) -> None:
    ours, bare = _per_call(rounds.ours, case), _per_call(rounds.bare, case)
    ratios = [a / b for a, b in zip(ours, bare, strict=True)]
    throughput = [
        b.wall / a.wall for a, b in zip(rounds.ours, rounds.bare, strict=True)
    ]  # ours calls/s over bare calls/s
    ours_us, bare_us = statistics.median(ours) * 1e6, statistics.median(bare) * 1e6
    ratio = statistics.median(ratios)
    verdict = (
        ""
        if case.target is None
        else f" ({'within' if ratio <= case.target else 'OVER'} {case.target}x)"
    )
    print(
        f"{case.label}: server CPU per call {ours_us:.0f} us, bare {bare_us:.0f} us; "
        f"ratio {_spread(ratios)}{verdict}; throughput {_spread(throughput)} of bare "
        f"({case.calls} calls x {ROUNDS} rounds, {case.in_flight} in flight)"
    )
    if engine:
        total = sum(engine.values()) * 1e6
        parts = ", ".join(f"{name} {seconds * 1e6:.0f}" for name, seconds in engine.items())
        without = [(a - total / 1e6) / b for a, b in zip(ours, bare, strict=True)]
        print(
            f"    engine share {total:.0f} us per call ({parts}); "
            f"ours without the engine {_spread(without)} of bare"
        )


def _report_streams(results: dict[int, tuple[Case, Rounds]]) -> None:
    per_chunk: dict[int, list[float]] = {}
    for tokens, (case, rounds) in results.items():
        ours = [phase.cpu / phase.chunks for phase in rounds.ours]
        bare = [phase.cpu / phase.chunks for phase in rounds.bare]
        per_chunk[tokens] = ours
        ratios = [a / b for a, b in zip(ours, bare, strict=True)]
        first = [t for phase in rounds.ours for t in phase.first]
        bare_first = [t for phase in rounds.bare for t in phase.first]
        chunks = rounds.ours[0].chunks // case.calls
        print(
            f"{case.label} ({chunks} chunks a stream): server CPU per chunk "
            f"{statistics.median(ours) * 1e6:.1f} us, bare {statistics.median(bare) * 1e6:.1f} us;"
            f" ratio {_spread(ratios)}; time to first chunk {statistics.median(first) * 1e3:.2f}"
            f" ms, bare {statistics.median(bare_first) * 1e3:.2f} ms"
        )
    short, long = STREAM_TOKENS
    growth = [a / b for a, b in zip(per_chunk[long], per_chunk[short], strict=True)]
    ratio = statistics.median(growth)
    print(
        f"CPU per chunk at {long} tokens / at {short}: {_spread(growth)} "
        f"({'within' if ratio <= LINEARITY_TARGET else 'OVER'} {LINEARITY_TARGET}x)"
    )


async def _main() -> None:
    from textgen.server.app import serve  # noqa: PLC0415
    from textgen.server.state import ServerState  # noqa: PLC0415
    from textgen.testing.fake_engine.engine import FakeEngine  # noqa: PLC0415

    running = await serve(ServerState(engine=FakeEngine(seed=0)), health=False, reflection=False)
    recorder = Recorder(FakeEngine(seed=0))
    recording = await serve(ServerState(engine=recorder), health=False, reflection=False)  # type: ignore[arg-type]
    bare_servers: dict[str, tuple[grpc.aio.Server, int]] = {}
    engine_calls: dict[str, list[EngineCall]] = {}
    for case in CASES:
        answers = await _capture(running.port, case)
        recorder.calls.clear()
        assert await _capture(recording.port, case) == answers
        engine_calls[case.label] = list(recorder.calls)
        bare_servers[case.label] = await _bare_server({case.method: _bare_handler(case, answers)})
    await recording.stop(None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    driver = Driver(process)
    try:
        for case in UNARY_CASES:
            rounds = await _rounds(driver, case, running.port, bare_servers[case.label][1])
            engine = None
            if case.label == "GenerateText":
                engine = await _engine_cpu(running.state.engine, engine_calls[case.label])
            _report_unary(case, rounds, engine)
        streams = {}
        for tokens, case in zip(STREAM_TOKENS, STREAM_CASES, strict=True):
            streams[tokens] = (
                case,
                await _rounds(driver, case, running.port, bare_servers[case.label][1]),
            )
        _report_streams(streams)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        await process.wait()
        for server, _ in bare_servers.values():
            await server.stop(None)
        await running.stop(None)


def main() -> None:
    """Print server CPU per call and per chunk, ours against bare, and the stream figures."""
    asyncio.run(_main())


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        asyncio.run(_client())
    else:
        main()
