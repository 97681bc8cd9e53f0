"""Global options: --target and --api-key with their environment fallbacks, --timeout."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli
from textgen.cli import _session, build_parser
from textgen.testing import FakeServer


def test_target_from_environment(
    cli: Cli, fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTGEN_ENDPOINT", fake.target)
    assert cli("count-tokens", "gemini-1.5-flash", "hi", target=False).out == "1 token\n"


def test_api_key_option_and_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeServer(api_keys={"secret": "alice"}) as locked:
        argv = ["--target", locked.target, "count-tokens", "gemini-1.5-flash", "hi"]
        refused = cli(*argv, target=False)
        assert refused.status == 1
        assert refused.err.startswith("error: UNAUTHENTICATED")
        assert cli(*argv, "--api-key", "secret", target=False).status == 0
        monkeypatch.setenv("TEXTGEN_API_KEY", "secret")
        assert cli(*argv, target=False).status == 0


def test_timeout_is_the_call_deadline(cli: Cli, fake: FakeServer) -> None:
    fake.script("CountTokens").delay(2.0)
    result = cli("--timeout", "0.2", "count-tokens", "gemini-1.5-flash", "hi", "--api", "content")
    assert result.status == 1
    assert result.err.startswith("error: DEADLINE_EXCEEDED")


def test_no_target_falls_back_to_the_emulator_address(
    cli: Cli, fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator's address is 127.0.0.1:50051, the port `textgen serve` listens on by
    # default; here it is pointed at this test's server, which listens elsewhere.
    serve = build_parser("serve").parse_args(["serve"])
    assert f"{serve.host}:{serve.port}" == _session.EMULATOR_TARGET
    monkeypatch.setattr(_session, "EMULATOR_TARGET", fake.target)
    assert cli("count-tokens", "gemini-1.5-flash", "hi", target=False).out == "1 token\n"
    monkeypatch.setenv("TEXTGEN_EMULATOR_HOST", fake.target)
    monkeypatch.setattr(_session, "EMULATOR_TARGET", "127.0.0.1:1")
    assert cli("count-tokens", "gemini-1.5-flash", "hi", target=False).status == 0
