"""Server CPU per call, against a bare grpc.aio server that sends byte-identical answers.

The servers run in this process on one event loop; the client is this file run again as a
subprocess (`--client`), so the CPU this process spends while a phase runs is the servers':
`time.process_time()` counts every thread here, grpc's own included. The client sends
pre-serialized requests and does not parse answers, so it stays out of the servers' way.

Three servers answer each case:
- ours: `textgen.server.app.serve` over the fake engine, as the emulator runs;
- ours, engine replayed: the same server over an engine that answers each call with what the
  fake engine answered to it before, at almost no cost. It measures the server's own cost;
  the difference from the first is the engine's share inside the server (the fake engine's
  calls are also timed alone, outside it, for comparison);
- bare: what a server written straight from the generated code would be. It decodes each
  request with the generated deserializer and returns the very messages ours answered (checked
  to serialize to the same bytes), with no interceptor, validation or engine.
They take turns in interleaved rounds, in an order rotated every round; each round gives one
ratio per server, and the median ratio is printed with its min-max spread.

Cases:
1. GetModel and GenerateText, 4 calls in flight: CPU per call and throughput. Targets:
   GetModel <= 1.1x bare; GenerateText <= 1.5x bare, with the fake engine's share reported
   apart.
2. StreamGenerateContent, one stream at a time, answers of 256 and 8192 tokens (JSON mode with
   an array schema, so the prompt stays short while the answer grows): CPU per chunk at 8192
   tokens over CPU per chunk at 256 (target <= 1.2x: cost linear in the length), each length
   against bare, and the time to first chunk at each length. The fake engine's own time to its
   first item is timed apart too (it writes a long JSON answer only as far as the deltas
   sent so far need).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import grpc
from google.protobuf.message import Message
from textgen.v1 import content_pb2, generation_pb2, model_pb2, model_service_pb2, text_pb2

SERVICE = "textgen.v1.ModelService"
OPTIONS = [("grpc.so_reuseport", 0)]
TEXT_MODEL = "models/text-bison-001"
CONTENT_MODEL = "models/gemini-1.5-flash"
IN_FLIGHT = 4  # unary calls the client keeps in flight
TIMEOUT = 60.0
REPLAYS = 200
LINEARITY_TARGET = 1.2


class Case(NamedTuple):
    """One kind of call: its request, how many calls a phase makes, rounds and target."""

    label: str
    method: str
    request: Message
    response_type: type[Message]
    calls: int
    rounds: int
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


GET_MODEL = Case(
    "GetModel",
    "GetModel",
    model_service_pb2.GetModelRequest(name=TEXT_MODEL),
    model_pb2.Model,
    calls=800,
    rounds=24,  # a cheap call: more rounds, so a busy moment moves the median less
    target=1.1,
)
GENERATE_TEXT = Case(
    "GenerateText",
    "GenerateText",
    model_service_pb2.GenerateTextRequest(
        model=TEXT_MODEL, prompt=text_pb2.TextPrompt(text="Write a haiku about gRPC")
    ),
    model_service_pb2.GenerateTextResponse,
    calls=400,
    rounds=20,  # each round's ratio spreads by a tenth either way on this machine
    target=1.5,
)
STREAM_TOKENS = (256, 8192)
STREAMS = {
    tokens: Case(
        f"StreamGenerateContent {tokens} tokens",
        "StreamGenerateContent",
        _stream_request(tokens),
        model_service_pb2.GenerateContentResponse,
        calls=8192 * 2 // tokens,  # the same number of chunks per phase at each length
        rounds=6,
        streaming=True,
        in_flight=1,
    )
    for tokens in STREAM_TOKENS
}


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


class Replay:
    """An engine that answers each call as `inner` once did (the first time it asks `inner`).

    Calls are told apart by what the benchmark's requests vary: the text rated or counted
    (and, in a stream, the piece's place), and the prompt and length asked for.
    """

    def __init__(self, inner: Any) -> None:  # noqa: ANN401  (a FakeEngine)
        self.inner = inner
        self._answers: dict[tuple[Any, ...], Any] = {}

    def models(self) -> Any:  # noqa: ANN401
        return self.inner.models()

    async def _answer(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:  # noqa: ANN401
        if key not in self._answers:
            self._answers[key] = await make()
        return self._answers[key]

    async def count_tokens(self, model: Any, text: str) -> Any:  # noqa: ANN401
        return await self._answer(("count", text), lambda: self.inner.count_tokens(model, text))

    async def rate(self, model: Any, text: str, categories: Any, *, stream: Any = None) -> Any:  # noqa: ANN401
        place = None if stream is None else len(stream.earlier)
        return await self._answer(
            ("rate", text, tuple(categories), place),
            lambda: self.inner.rate(model, text, categories, stream=stream),
        )

    async def generate(self, request: Any) -> Any:  # noqa: ANN401
        key = ("generate", request.prompt_text(), request.params.max_output_tokens)
        return await self._answer(key, lambda: self.inner.generate(request))

    async def stream(self, request: Any) -> AsyncIterator[Any]:  # noqa: ANN401
        key = ("stream", request.prompt_text(), request.params.max_output_tokens)

        async def collect() -> list[Any]:
            return [item async for item in self.inner.stream(request)]

        for item in await self._answer(key, collect):
            await asyncio.sleep(0)
            yield item


async def _capture(port: int, case: Case) -> list[bytes]:
    """What a server answers to the case's request, as bytes."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        path = f"/{SERVICE}/{case.method}"
        payload = case.request.SerializeToString()
        if case.streaming:
            return [chunk async for chunk in channel.unary_stream(path)(payload, timeout=TIMEOUT)]
        return [await channel.unary_unary(path)(payload, timeout=TIMEOUT)]


def _bare_handler(case: Case, raw: list[bytes]) -> grpc.RpcMethodHandler:
    decode = type(case.request).FromString
    encode = case.response_type.SerializeToString
    answers = [case.response_type.FromString(data) for data in raw]
    assert [encode(answer) for answer in answers] == raw, f"{case.label}: answers would differ"
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

    async def rounds(self, case: Case, ports: dict[str, int]) -> dict[str, list[Phase]]:
        """Each server's phases, one per round, the order rotated every round."""
        for port in ports.values():
            await self.phase(port, case)  # warm up
        phases: dict[str, list[Phase]] = {name: [] for name in ports}
        names = list(ports)
        for number in range(case.rounds):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                phases[name].append(await self.phase(ports[name], case))
        return phases


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def _verdict(ratios: list[float], target: float) -> str:
    return f"{'within' if statistics.median(ratios) <= target else 'OVER'} {target}x"


def _ratios(
    phases: dict[str, list[Phase]], name: str, per: Callable[[Phase], float]
) -> list[float]:
    return [per(a) / per(b) for a, b in zip(phases[name], phases["bare"], strict=True)]


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


async def _engine_alone(engine: Any, calls: list[EngineCall]) -> float:  # noqa: ANN401
    """CPU seconds the engine spends on one request's calls, replayed alone (mean of many)."""
    start = time.process_time()
    for _ in range(REPLAYS):
        for name, args, kwargs in calls:
            await getattr(engine, name)(*args, **kwargs)
    return (time.process_time() - start) / REPLAYS


async def _first_item(engine: Any, calls: list[EngineCall]) -> float:  # noqa: ANN401
    """Seconds the engine takes to its first streamed item (median of a few)."""
    (request,) = [args[0] for name, args, _ in calls if name == "stream"]
    samples = []
    for _ in range(9):
        start = time.perf_counter()
        items = engine.stream(request)
        await items.__anext__()
        samples.append(time.perf_counter() - start)
        await items.aclose()
    return statistics.median(samples)


def _report_unary(case: Case, phases: dict[str, list[Phase]], engine_alone: float | None) -> None:
    def per_call(phase: Phase) -> float:
        return phase.cpu / case.calls

    us = {name: statistics.median(map(per_call, found)) * 1e6 for name, found in phases.items()}
    ours = _ratios(phases, "ours", per_call)
    throughput = [b.wall / a.wall for a, b in zip(phases["ours"], phases["bare"], strict=True)]
    target = case.target or 0.0
    print(
        f"{case.label}: server CPU per call {us['ours']:.0f} us, bare {us['bare']:.0f} us: "
        f"{_spread(ours)} ({_verdict(ours, target)}); throughput {_spread(throughput)} of bare "
        f"({case.calls} calls x {case.rounds} rounds, {case.in_flight} in flight)"
    )
    if "replayed" in phases:
        own = _ratios(phases, "replayed", per_call)
        alone = (
            "" if engine_alone is None else f"; the fake engine alone {engine_alone * 1e6:.0f} us"
        )
        print(
            f"    with the engine replayed (the server's own cost) {us['replayed']:.0f} us: "
            f"{_spread(own)} ({_verdict(own, target)}); the engine's share in the server "
            f"{us['ours'] - us['replayed']:.0f} us{alone}"
        )


def _report_streams(
    phases: dict[int, dict[str, list[Phase]]], engine_first: dict[int, float]
) -> None:
    def per_chunk(phase: Phase) -> float:
        return phase.cpu / phase.chunks

    for tokens, found in phases.items():
        case = STREAMS[tokens]
        chunks = found["ours"][0].chunks // case.calls
        cost = {name: statistics.median(map(per_chunk, runs)) * 1e6 for name, runs in found.items()}
        first = {
            name: statistics.median(t for phase in runs for t in phase.first) * 1e3
            for name, runs in found.items()
        }
        print(
            f"{case.label} ({chunks} chunks a stream, {case.calls} streams x {case.rounds} "
            f"rounds): server CPU per chunk {cost['ours']:.1f} us, bare {cost['bare']:.1f} us: "
            f"{_spread(_ratios(found, 'ours', per_chunk))}; engine replayed "
            f"{cost['replayed']:.1f} us: {_spread(_ratios(found, 'replayed', per_chunk))}"
        )
        print(
            f"    time to first chunk {first['ours']:.2f} ms (the fake engine's own time to its "
            f"first item {engine_first[tokens] * 1e3:.2f} ms), engine replayed "
            f"{first['replayed']:.2f} ms, bare {first['bare']:.2f} ms"
        )
    short, long = STREAM_TOKENS
    growth = [
        per_chunk(a) / per_chunk(b)
        for a, b in zip(phases[long]["ours"], phases[short]["ours"], strict=True)
    ]
    print(
        f"CPU per chunk at {long} tokens / at {short}, ours: {_spread(growth)} "
        f"({_verdict(growth, LINEARITY_TARGET)})"
    )


async def _main() -> None:
    from textgen.server.app import serve  # noqa: PLC0415
    from textgen.server.state import ServerState  # noqa: PLC0415
    from textgen.testing.fake_engine.engine import FakeEngine  # noqa: PLC0415

    def server(engine: object) -> Any:  # noqa: ANN401
        return serve(ServerState(engine=engine), health=False, reflection=False)  # type: ignore[arg-type]

    ours = await server(FakeEngine(seed=0))
    replayed = await server(Replay(FakeEngine(seed=0)))
    recorder = Recorder(FakeEngine(seed=0))
    recording = await server(recorder)
    cases = [GET_MODEL, GENERATE_TEXT, *STREAMS.values()]
    bare: dict[str, tuple[grpc.aio.Server, int]] = {}
    calls: dict[str, list[EngineCall]] = {}
    for case in cases:
        answer = await _capture(ours.port, case)
        assert await _capture(replayed.port, case) == answer, f"{case.label}: replay differs"
        recorder.calls.clear()
        assert await _capture(recording.port, case) == answer
        calls[case.label] = list(recorder.calls)
        bare[case.label] = await _bare_server({case.method: _bare_handler(case, answer)})
    await recording.stop(None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    driver = Driver(process)
    engine = FakeEngine(seed=0)
    try:
        found = await driver.rounds(GET_MODEL, {"ours": ours.port, "bare": bare["GetModel"][1]})
        _report_unary(GET_MODEL, found, None)
        ports = {"ours": ours.port, "replayed": replayed.port, "bare": bare["GenerateText"][1]}
        found = await driver.rounds(GENERATE_TEXT, ports)
        _report_unary(GENERATE_TEXT, found, await _engine_alone(engine, calls["GenerateText"]))
        streams: dict[int, dict[str, list[Phase]]] = {}
        first: dict[int, float] = {}
        for tokens, case in STREAMS.items():
            ports = {"ours": ours.port, "replayed": replayed.port, "bare": bare[case.label][1]}
            streams[tokens] = await driver.rounds(case, ports)
            first[tokens] = await _first_item(engine, calls[case.label])
        _report_streams(streams, first)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        await process.wait()
        for server_, _ in bare.values():
            await server_.stop(None)
        await ours.stop(None)
        await replayed.stop(None)


def main() -> None:
    """Print server CPU per call and per chunk, ours against bare, and the stream figures."""
    asyncio.run(_main())


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        asyncio.run(_client())
    else:
        main()
