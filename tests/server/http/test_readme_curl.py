"""The README's curl examples run against a FakeServer serving HTTP, each giving the status
its comment names."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("aiohttp", reason="the HTTP server needs the `http` extra (aiohttp)")

from textgen.testing import FakeServer, Progression

README = Path(__file__).resolve().parents[3] / "README.md"
EXAMPLE_URL = "http://127.0.0.1:8080"


def _commands() -> list[tuple[int, str]]:
    """(expected status, command) of each curl command in the README's curl block."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    [block] = [block for block in blocks if "curl" in block]
    found: list[tuple[int, str]] = []
    statuses: list[int] = []
    for chunk in re.split(r"\n(?=curl |#)", block.strip()):
        if chunk.startswith("#"):
            statuses = [int(code) for code in re.findall(r"\((\d{3})", chunk)]
            continue
        found.append((statuses.pop(0), chunk.strip()))
    return found


def test_the_readme_has_curl_examples() -> None:
    assert len(_commands()) >= 5


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_curl_examples_run() -> None:
    emulator = FakeServer(http=True, api_keys={"my-key": "me"}, progression=Progression.immediate())
    with emulator as fake:
        for status, command in _commands():
            script = command.replace(EXAMPLE_URL, fake.http_url)
            script = script.replace("curl -s", "curl -s -w '\\n%{http_code}'", 1)
            done = subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True
            )
            body, _, code = done.stdout.rpartition("\n")
            assert int(code) == status, (command, body)
            assert body.startswith(("{", "data: {")), body
            if status == 400:
                assert "generationConfig.topQ" in body
