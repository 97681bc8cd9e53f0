"""Client call overhead: `textgen.Client` against the generated stub, same server, same channel.

A cheap call (GetModel) and GenerateText, made four ways on the client's own channel (same
options, same connection): the generated `ModelServiceStub` (the baseline), the client's
transport wrapper, its runner on a prebuilt plan, and `client.models.*`. Each step adds one
layer of the client, so the differences between the steps say where any overhead goes
without a profiler. The ways take turns in interleaved rounds (stub, transport, runner,
client, stub, ...) so drift hits all alike. The server is the standalone emulator in its own
process, as a deployed service would be: in-process, its Python work would share the GIL with
the client's and inflate the client's share. Target: the client takes at most 1.05x of the
stub.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from textgen.v1 import model_service_pb2, model_service_pb2_grpc, text_pb2

import textgen
from textgen import _transport
from textgen.resources import ModelCalls
from textgen.resources.models import GENERATE_TEXT, GET_MODEL

MODEL = "models/text-bison-001"
PROMPT = "Write a haiku about gRPC"
TARGET = 1.05
ROUNDS = 24  # each way once per round, in an order rotated every round
CALLS = {"GetModel": 60, "GenerateText": 40}  # calls per way and round
TIMEOUT = 60.0  # the client's default deadline, given to the other ways too
WAYS = ("stub", "transport", "runner", "client")
# What each way adds to the one before it.
LAYERS = {
    "transport": "transport wrapper (_transport.unary: error mapping, metadata)",
    "runner": "runner (Driver, retrying loop, Attempt)",
    "client": "resource method (binding, building the request, parsing)",
}

GET_REQUEST = model_service_pb2.GetModelRequest(name=MODEL)
TEXT_REQUEST = model_service_pb2.GenerateTextRequest(
    model=MODEL, prompt=text_pb2.TextPrompt(text=PROMPT)
)


# The baseline builds its request on every call, as code calling the stub directly must; the
# client builds its own from the same arguments. The middle layers reuse the prebuilt ones.
def _get_request() -> model_service_pb2.GetModelRequest:
    return model_service_pb2.GetModelRequest(name=MODEL)


def _text_request() -> model_service_pb2.GenerateTextRequest:
    return model_service_pb2.GenerateTextRequest(
        model=MODEL, prompt=text_pb2.TextPrompt(text=PROMPT)
    )


Samples = dict[str, list[float]]  # seconds per call of each way, one sample per round


def _order(round_number: int) -> list[str]:
    """The ways in the order of this round: rotated each round, so no way always goes first."""
    shift = round_number % len(WAYS)
    return [*WAYS[shift:], *WAYS[:shift]]


def _rounds(ways: dict[str, Callable[[], object]], calls: int) -> Samples:
    samples: Samples = {way: [] for way in ways}
    for action in ways.values():
        for _ in range(calls // 4):
            action()  # warm up
    for number in range(ROUNDS):
        for way in _order(number):
            action = ways[way]
            start = time.perf_counter()
            for _ in range(calls):
                action()
            samples[way].append((time.perf_counter() - start) / calls)
    return samples


async def _rounds_async(ways: dict[str, Callable[[], Awaitable[object]]], calls: int) -> Samples:
    samples: Samples = {way: [] for way in ways}
    for action in ways.values():
        for _ in range(calls // 4):
            await action()
    for number in range(ROUNDS):
        for way in _order(number):
            action = ways[way]
            start = time.perf_counter()
            for _ in range(calls):
                await action()
            samples[way].append((time.perf_counter() - start) / calls)
    return samples


def _first_output(response: Any) -> str:  # noqa: ANN401  (a GenerateTextResponse)
    return str(response.candidates[0].output)


@contextlib.contextmanager
def _emulator() -> Iterator[str]:
    """`textgen serve` on a free loopback port, in its own process; yields its target."""
    command = [sys.executable, "-m", "textgen", "serve", "--host", "127.0.0.1", "--port", "0"]
    # Popen as a context manager closes the stdout pipe on the way out as well.
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # "textgen emulator listening on HOST:PORT"
            yield line.rsplit(" ", 1)[-1].strip()
        finally:
            process.terminate()
            process.wait(10)


def _sync_figures() -> dict[str, Samples]:
    with _emulator() as target, textgen.Client(target) as client:
        client.models.get(MODEL)  # opens the channel
        runner = client._runner
        channel = runner._channel()  # the client's own channel, for every way
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        get_plan, text_plan = ModelCalls.get(MODEL), ModelCalls.generate_text(MODEL, PROMPT)

        def transport(method: Any, request: Any) -> Any:  # noqa: ANN401
            return _transport.unary(
                channel, method, request, timeout=TIMEOUT, metadata=(), target=runner.target
            )

        get_ways: dict[str, Callable[[], object]] = {
            "stub": lambda: stub.GetModel(_get_request(), timeout=TIMEOUT),
            "transport": lambda: transport(GET_MODEL, GET_REQUEST),
            "runner": lambda: runner.run(get_plan),
            "client": lambda: client.models.get(MODEL),
        }
        text_ways: dict[str, Callable[[], object]] = {
            "stub": lambda: _first_output(stub.GenerateText(_text_request(), timeout=TIMEOUT)),
            "transport": lambda: _first_output(transport(GENERATE_TEXT, TEXT_REQUEST)),
            "runner": lambda: runner.run(text_plan).text,
            "client": lambda: client.models.generate_text(MODEL, PROMPT).text,
        }
        return {
            "GetModel": _rounds(get_ways, CALLS["GetModel"]),
            "GenerateText": _rounds(text_ways, CALLS["GenerateText"]),
        }


async def _async_figures() -> dict[str, Samples]:
    with _emulator() as target:
        return await _async_figures_on(target)


async def _async_figures_on(target: str) -> dict[str, Samples]:
    async with textgen.AsyncClient(target) as client:
        await client.models.get(MODEL)  # opens the channel on this loop
        runner = client._runner
        channel = runner._channel()
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        get_plan, text_plan = ModelCalls.get(MODEL), ModelCalls.generate_text(MODEL, PROMPT)

        def transport(method: Any, request: Any) -> Awaitable[Any]:  # noqa: ANN401
            return _transport.aio_unary(
                channel, method, request, timeout=TIMEOUT, metadata=(), target=runner.target
            )

        async def stub_text() -> str:
            return _first_output(await stub.GenerateText(_text_request(), timeout=TIMEOUT))

        async def transport_text() -> str:
            return _first_output(await transport(GENERATE_TEXT, TEXT_REQUEST))

        async def runner_text() -> str:
            return (await runner.run(text_plan)).text

        async def client_text() -> str:
            return (await client.models.generate_text(MODEL, PROMPT)).text

        get_ways: dict[str, Callable[[], Awaitable[object]]] = {
            "stub": lambda: stub.GetModel(_get_request(), timeout=TIMEOUT),
            "transport": lambda: transport(GET_MODEL, GET_REQUEST),
            "runner": lambda: runner.run(get_plan),
            "client": lambda: client.models.get(MODEL),
        }
        text_ways: dict[str, Callable[[], Awaitable[object]]] = {
            "stub": stub_text,
            "transport": transport_text,
            "runner": runner_text,
            "client": client_text,
        }
        return {
            "GetModel": await _rounds_async(get_ways, CALLS["GetModel"]),
            "GenerateText": await _rounds_async(text_ways, CALLS["GenerateText"]),
        }


def _paired(samples: Samples, way: str, baseline: str) -> list[float]:
    """Per round, `way` minus `baseline`: both measured within seconds of each other."""
    return [a - b for a, b in zip(samples[way], samples[baseline], strict=True)]


def _report(kind: str, figures: dict[str, Samples]) -> None:
    for call, samples in figures.items():
        client, stub = statistics.median(samples["client"]), statistics.median(samples["stub"])
        # The median of per-round ratios: each round's pair shares that moment's machine load.
        ratio = statistics.median(
            a / b for a, b in zip(samples["client"], samples["stub"], strict=True)
        )
        verdict = "within" if ratio <= TARGET else "OVER"
        print(
            f"{kind} {call}: client {client * 1e6:.0f} us, stub {stub * 1e6:.0f} us per call "
            f"(medians of {ROUNDS} rounds x {CALLS[call]}); ratio client/stub {ratio:.3f}x, "
            f"overhead {(ratio - 1) * 100:+.1f}% ({verdict} the {(TARGET - 1) * 100:.0f}% target)"
        )
        if ratio <= TARGET:
            continue
        previous = "stub"
        for way, layer in LAYERS.items():
            added = statistics.median(_paired(samples, way, previous))
            print(
                f"    {added * 1e6:+6.1f} us ({added / stub * 100:+5.1f}% of the stub) "
                f"from the {layer}"
            )
            previous = way


def main() -> None:
    """Print per-call medians, client/stub ratios and (over target) the layer breakdown."""
    _report("sync", _sync_figures())
    _report("async", asyncio.run(_async_figures()))
