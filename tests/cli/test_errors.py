"""Error output: status code, message, field violations, exit statuses, no tracebacks."""

from __future__ import annotations

import socket

import pytest

from tests.cli.conftest import Cli


def test_invalid_argument_names_the_field(cli: Cli) -> None:
    result = cli("generate", "text-bison-001", "Write", "--temperature", "5")
    assert result.status == 1
    assert result.out == ""
    lines = result.err.splitlines()
    assert lines[0].startswith("error: INVALID_ARGUMENT: ")
    assert "  temperature: must be between 0 and 1" in lines
    assert "Traceback" not in result.err


def test_invalid_argument_json(cli: Cli) -> None:
    result = cli("--json", "generate", "text-bison-001", "Write", "--temperature", "5")
    assert result.status == 1
    assert result.out == ""
    error = result.error()
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["field_violations"] == [
        {"field": "temperature", "description": "must be between 0 and 1"}
    ]
    assert error["reason"] == "INVALID_FIELD"


def test_unknown_model_is_not_found(cli: Cli) -> None:
    result = cli("generate", "no-such-model", "Hi")
    assert result.status == 1
    assert result.err.startswith("error: NOT_FOUND: ")
    assert "models/no-such-model" in result.err


def test_blocked_prompt_is_reported(cli: Cli) -> None:
    result = cli("generate", "text-bison-001", "unsafe:violence:high")
    assert result.status == 1
    assert result.err.startswith("error: BLOCKED: ")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_server_is_one_line_naming_the_target(cli: Cli) -> None:
    target = f"127.0.0.1:{_closed_port()}"
    result = cli("--target", target, "count-tokens", "gemini-1.5-flash", "hi", target=False)
    assert result.status == 1
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"error: UNAVAILABLE: cannot reach a textgen server at {target}")


def test_unreachable_server_json(cli: Cli) -> None:
    target = f"127.0.0.1:{_closed_port()}"
    result = cli("--json", "--target", target, "generate", "m", "hi", target=False)
    assert result.status == 1
    assert result.error()["target"] == target


def test_no_target_is_a_usage_error(cli: Cli) -> None:
    result = cli("generate", "gemini-1.5-flash", "hi", target=False)
    assert result.status == 2
    assert "no target" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "gemini-1.5-flash"],  # PROMPT missing
        ["generate", "m", "p", "--temperature", "warm"],
        ["--timeout", "0", "generate", "m", "p"],
        ["operations"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(cli: Cli, argv: list[str]) -> None:
    result = cli(*argv)
    assert result.status == 2
    assert "usage: textgen" in result.err


def test_no_command_prints_help(cli: Cli) -> None:
    result = cli(target=False)
    assert result.status == 2
    assert "generate" in result.out
