"""`textgen serve` loads the server and the fake engine, and nothing of the client."""

from __future__ import annotations

import re
import select
import signal
import subprocess
import sys

import pytest

from textgen.cli.serve import LISTENING

# The client's modules, and rich (the CLI's output for the client commands).
CLIENT_MODULES = (
    "textgen.client",
    "textgen.resources",
    "textgen._calls",
    "textgen._shells",
    "textgen._transport",
    "textgen.operation",
    "textgen.errors",
    "rich",
)
# One line of `-X importtime` output: "import time: <self> | <cumulative> | <indented name>".
_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(?P<module>\S+)$")


@pytest.fixture(scope="module")
def imported() -> set[str]:
    """Every module `python -X importtime -m textgen serve` imports until it answers."""
    command = [sys.executable, "-X", "importtime", "-m", "textgen", "serve", "--port", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30.0)
        line = process.stdout.readline() if ready else ""
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert line.startswith(LISTENING), f"the emulator did not start: {line!r}\n{errors}"
    return {match["module"] for match in map(_IMPORT_LINE.match, errors.splitlines()) if match}


def test_serve_imports_no_client_code(imported: set[str]) -> None:
    assert {"textgen.server.app", "textgen.testing.fake_engine.engine"} <= imported
    loaded_client = sorted(
        module
        for module in imported
        if any(module == name or module.startswith(f"{name}.") for name in CLIENT_MODULES)
    )
    assert loaded_client == []


def test_serve_loads_no_other_command(imported: set[str]) -> None:
    other_commands = {"textgen.cli.generate", "textgen.cli.batch", "textgen.cli.tune"}
    assert imported.isdisjoint(other_commands)


def test_serve_defers_what_its_first_answer_does_not_need(imported: set[str]) -> None:
    # Built on first use: the other services and their jobs, page tokens, the engine base
    # classes and tuning types, the fake engine's function calls and tuning memory, the
    # flavours' route table (read from the contract's descriptors, Yandex's own services
    # among them), the other services' generated modules, the rich status of a rejected call
    # and the reflection servicer; and shutil, which argparse's own help formatter imports
    # to find the terminal's width.
    deferred = {
        "shutil",
        "grpc_reflection.v1alpha.reflection",
        "grpc_status",
        "textgen.contract",
        "textgen.v1.dataset_service_pb2_grpc",
        "textgen.v1.text_generation_batch_service_pb2",
        "textgen.v1.tuned_model_service_pb2",
        "textgen.yandex_batch",
        "textgen.yandex_operation",
        "textgen.server.services.dataset_service",
        "textgen.server.services.operations_service",
        "textgen.server.services.text_generation_batch_service",
        "textgen.server.services.tuned_model_service",
        "textgen.server.jobs.batch",
        "textgen.server.jobs.tuning",
        "textgen.server.rpc.pagination",
        "textgen.server.engine_base",
        "textgen.server.engine_tuning",
        "textgen.testing.fake_engine.function_calls",
        "textgen.testing.fake_engine.memorizer",
    }
    assert sorted(imported & deferred) == []
