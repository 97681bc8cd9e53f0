"""`textgen operations list|get|cancel`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli


@pytest.fixture
def tuning(cli: Cli, tmp_path: Path) -> str:
    """A tuning job started without waiting; its operation name."""
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"text_input": "I", "output": "II"}) + "\n")
    started = cli("--json", "tune", "gemini-1.0-pro-001", "--data", str(data), "--no-wait")
    return str(started.json()["operation"])


def test_list_empty(cli: Cli) -> None:
    assert cli("operations", "list").out == "no operations\n"
    assert cli("--json", "operations", "list").json() == {"operations": []}


def test_list_shows_kind_state_and_progress(cli: Cli, tuning: str) -> None:
    result = cli("operations", "list")
    assert result.status == 0
    header, row = result.out.splitlines()
    assert header.split() == ["NAME", "KIND", "STATE", "PROGRESS"]
    assert row.split()[:3] == [tuning, "tuning", "RUNNING"]
    listed = cli("--json", "operations", "list").json()["operations"]
    assert [op["name"] for op in listed] == [tuning]


def test_get_human_and_json(cli: Cli, tuning: str) -> None:
    result = cli("operations", "get", tuning)
    assert result.status == 0
    assert f"name:     {tuning}" in result.out
    assert "kind:     tuning" in result.out
    data = cli("--json", "operations", "get", tuning).json()
    assert data["metadata"]["@type"].endswith("CreateTunedModelMetadata")


def test_cancel_then_get_shows_cancelled(cli: Cli, tuning: str) -> None:
    result = cli("operations", "cancel", tuning)
    assert result.status == 0, result.err
    assert f"cancel requested for {tuning}" in result.out
    shown = cli("--json", "operations", "get", tuning).json()
    assert shown["done"] is True
    assert shown["error"]["code"] == 1  # CANCELLED
    assert "CANCELLED" in cli("operations", "get", tuning).out


def test_get_unknown_operation(cli: Cli) -> None:
    result = cli("--json", "operations", "get", "operations/nope")
    assert result.status == 1
    assert result.error()["code"] == "NOT_FOUND"
