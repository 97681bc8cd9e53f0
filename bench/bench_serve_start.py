"""`textgen serve` from process start to its first answer, against a bare grpc.aio server.

Each run starts a fresh interpreter, waits for the line that says where it listens, sends one
GetModel and stops the process once the answer is in; the time from spawning to the answer is
the figure. The baseline is a script that does the least a grpc.aio server can: import grpc
and the generated ModelService code, serve a fixed Model (the one `textgen serve` answers,
so the answers are byte-identical) and print the same line. Both are started the same way,
`python -m <module>` with this file's own interpreter, from the same folder, and take turns
(ours, bare, bare, ours, ...). Printed: the medians, the median of the per-round ratios and
their min-max spread.

It is measured twice: with the bytecode of every module cached, as an installed package runs
(in a private PYTHONPYCACHEPREFIX that a first run fills), and with no bytecode written, as
this checkout's shell runs (PYTHONDONTWRITEBYTECODE, so the package's own modules are compiled
again at every start). Target, for the first: ours at most 1.5x the bare server.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from textgen.v1 import model_pb2, model_service_pb2, model_service_pb2_grpc

ROUNDS = 12
TARGET = 1.5
MODEL = "models/text-bison-001"
LISTENING = "textgen emulator listening on"
BARE_MODULE = "bare_textgen_server"
# The bare server: the Model to answer is passed as hex, so this file need not know it.
BARE_SOURCE = f'''"""A bare grpc.aio server answering GetModel with one fixed Model."""

import asyncio
import sys

import grpc
from textgen.v1 import model_pb2, model_service_pb2_grpc

ANSWER = model_pb2.Model.FromString(bytes.fromhex(sys.argv[1]))


class Servicer(model_service_pb2_grpc.ModelServiceServicer):
    async def GetModel(self, request, context):
        return ANSWER


async def main():
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"{LISTENING} 127.0.0.1:{{port}}", flush=True)
    await server.wait_for_termination()


asyncio.run(main())
'''


def _first_answer(command: list[str], cwd: str, env: dict[str, str]) -> tuple[float, bytes]:
    """Seconds from spawning `command` to its first GetModel answer, and that answer."""
    start = time.perf_counter()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=cwd, env=env
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.startswith(LISTENING):
                raise RuntimeError(f"{command}: unexpected first line {line!r}")
            target = line.rsplit(" ", 1)[-1].strip()
            with grpc.insecure_channel(target) as channel:
                stub = model_service_pb2_grpc.ModelServiceStub(channel)
                call = stub.GetModel.with_call(
                    model_service_pb2.GetModelRequest(name=MODEL), timeout=10
                )
            elapsed = time.perf_counter() - start
            answer = call[0].SerializeToString()
        finally:
            process.terminate()
            process.wait(10)
    return elapsed, answer


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def _measure(label: str, folder: str, env: dict[str, str], *, target: float | None) -> None:
    ours_command = [sys.executable, "-m", "textgen", "serve", "--host", "127.0.0.1", "--port", "0"]
    _, answer = _first_answer(ours_command, folder, env)  # also fills the bytecode cache, if any
    assert model_pb2.Model.FromString(answer).name == MODEL
    bare_command = [sys.executable, "-m", BARE_MODULE, answer.hex()]
    _, bare_answer = _first_answer(bare_command, folder, env)
    assert bare_answer == answer, "the bare server answers differently"
    ours: list[float] = []
    bare: list[float] = []
    for number in range(ROUNDS):
        order = [(ours, ours_command), (bare, bare_command)]
        if number % 2:
            order.reverse()
        for samples, command in order:
            samples.append(_first_answer(command, folder, env)[0])
    ratios = [a / b for a, b in zip(ours, bare, strict=True)]
    ratio = statistics.median(ratios)
    verdict = "" if target is None else f" ({'within' if ratio <= target else 'OVER'} {target}x)"
    print(
        f"{label}: textgen serve start to first answer {statistics.median(ours) * 1e3:.0f} ms, "
        f"bare grpc.aio server {statistics.median(bare) * 1e3:.0f} ms (medians of {ROUNDS}); "
        f"ratio {_spread(ratios)}{verdict}"
    )


def main() -> None:
    """Print start-to-first-answer medians and the per-round ratio, ours over bare, with
    bytecode cached (as an installed package runs) and compiled at every start."""
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as cache:
        (Path(folder) / f"{BARE_MODULE}.py").write_text(BARE_SOURCE)
        installed = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
        installed.pop("PYTHONDONTWRITEBYTECODE", None)
        _measure("bytecode cached, as installed", folder, installed, target=TARGET)
        # Where no bytecode is written (this checkout's shell sets PYTHONDONTWRITEBYTECODE),
        # every module of the package is compiled again at each start; the bare server has
        # far fewer of them.
        fresh = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        fresh.pop("PYTHONPYCACHEPREFIX", None)
        _measure("no bytecode written (this checkout's shell)", folder, fresh, target=None)
