"""`textgen serve --engine module:factory` serves a real engine in a subprocess; a bad spec or
a failing factory is one line on stderr and exit status 2."""

from __future__ import annotations

import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from textgen.v1 import model_service_pb2, model_service_pb2_grpc, text_pb2

from textgen.cli.serve import LISTENING

# The repository root: `tests.emulator.echo_engine` is importable from there.
ROOT = Path(__file__).resolve().parents[2]
ENGINE = "tests.emulator.echo_engine"
_ADDRESS = re.compile(rf"^{re.escape(LISTENING)} (?P<target>\S+)$")
_TIMEOUT = 30.0


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "textgen", "serve", "--port", "0", *args]


@pytest.fixture
def echo_target() -> Iterator[str]:
    """The address of `textgen serve --engine tests.emulator.echo_engine:make`."""
    process = subprocess.Popen(
        _command("--engine", f"{ENGINE}:make"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], _TIMEOUT)
        line = process.stdout.readline().strip() if ready else ""
        match = _ADDRESS.match(line)
        assert match is not None, f"the server did not start: {line!r}"
        yield match.group("target")
        process.send_signal(signal.SIGTERM)
        assert process.wait(_TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_the_factory_engine_is_served(echo_target: str) -> None:
    with grpc.insecure_channel(echo_target) as channel:
        models = model_service_pb2_grpc.ModelServiceStub(channel)
        listed = models.ListModels(model_service_pb2.ListModelsRequest())
        assert [model.name for model in listed.models] == ["models/echo-001"]
        reply = models.GenerateText(
            model_service_pb2.GenerateTextRequest(
                model="models/echo-001", prompt=text_pb2.TextPrompt(text="hello engine")
            )
        )
        # The answer was produced in one of BlockingEngine's worker threads.
        assert re.fullmatch(r"\[textgen-engine_\d+\] hello engine", reply.candidates[0].output)
        counted = models.CountTextTokens(
            model_service_pb2.CountTextTokensRequest(
                model="models/echo-001", prompt=text_pb2.TextPrompt(text="one two three")
            )
        )
        assert counted.token_count == 3
        with pytest.raises(grpc.RpcError) as caught:
            models.EmbedText(model_service_pb2.EmbedTextRequest(model="models/echo-001", text="x"))
        assert caught.value.code() in {
            grpc.StatusCode.INVALID_ARGUMENT,  # the model does not list embedText
            grpc.StatusCode.UNIMPLEMENTED,
        }
        operations = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
        empty = operations.ListOperations(operations_pb2.ListOperationsRequest())
        assert not empty.operations


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("tests.emulator.echo_engine", "--engine expects MODULE:FACTORY, got "),
        ("no_such_module_here:make", "cannot import 'no_such_module_here': ModuleNotFoundError"),
        (f"{ENGINE}:missing", f"{ENGINE!r} has no 'missing'"),
        (f"{ENGINE}:ECHO_MODEL", f"{ENGINE}:ECHO_MODEL is not callable"),
        (f"{ENGINE}:broken", f"{ENGINE}:broken() failed: FileNotFoundError: weights/echo.bin"),
        (f"{ENGINE}:not_an_engine", f"{ENGINE}:not_an_engine() returned a object, not an engine"),
    ],
)
def test_a_bad_engine_is_one_line_and_status_2(spec: str, expected: str) -> None:
    result = subprocess.run(
        _command("--engine", spec),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and not result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"textgen serve: {expected}"), lines[0]
