"""Error output: status code, message, field violations, exit statuses, no tracebacks."""

from __future__ import annotations

import socket
from pathlib import Path

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


def test_each_field_violation_is_printed_once(cli: Cli) -> None:
    result = cli("generate", "text-bison-001", "Write", "--temperature", "5", "--top-k", "0")
    assert result.err.splitlines() == [
        "error: INVALID_ARGUMENT: Invalid request",
        "  temperature: must be between 0 and 1",
        "  top_k: must be at least 1",
    ]
    error = cli("--json", "generate", "text-bison-001", "Write", "--temperature", "5").error()
    assert error["message"] == "Invalid request"
    assert len(error["field_violations"]) == 1


def test_malformed_input_in_json_mode_has_a_code(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    result = cli("--json", "tune", "gemini-1.0-pro-001", "--data", str(bad))
    assert result.status == 2
    error = result.error()
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["reason"] == "LOCAL_INPUT"
    assert str(bad) in error["message"]
    # Read by a person, the same error stays a plain sentence.
    plain = cli("tune", "gemini-1.0-pro-001", "--data", str(bad))
    assert plain.err.startswith(f"error: {bad}")


def test_a_bad_task_type_lists_the_valid_ones(cli: Cli) -> None:
    result = cli("embed", "text-embedding-004", "hi", "--task-type", "SEARCH")
    assert result.status == 2
    assert "unknown task type 'SEARCH'; valid values: RETRIEVAL_QUERY" in result.err
    assert "CLUSTERING" in result.err
    assert cli("embed", "text-embedding-004", "hi", "--task-type", "clustering").status == 0


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
