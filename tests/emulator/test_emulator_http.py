"""`textgen serve --http-port 0` serves HTTP/JSON beside gRPC and prints its base URL."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable

import pytest

from tests.emulator.conftest import Emulator
from textgen.cli.serve import HTTP_LISTENING

pytest.importorskip("aiohttp", reason="the HTTP server needs the `http` extra (aiohttp)")


def test_the_emulator_serves_http_beside_grpc(emulator_factory: Callable[..., Emulator]) -> None:
    emulator = emulator_factory("--http-port", "0", "--api-key", "k=me")
    stdout = emulator.process.stdout
    assert stdout is not None
    # Printed right after the listening line (which may have buffered it already).
    line = stdout.readline().strip()
    found = re.fullmatch(rf"{re.escape(HTTP_LISTENING)} (http://\S+)", line)
    assert found is not None, line
    request = urllib.request.Request(
        f"{found.group(1)}/v1beta/models/gemini-1.5-flash?key=k", method="GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["name"] == "models/gemini-1.5-flash"
    assert emulator.stop() == 0
