"""How commands word what they print: counts agree with their nouns."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli
from textgen.cli._output import counted


def test_counted_nouns() -> None:
    assert [counted(n, "example") for n in (0, 1, 2)] == ["0 examples", "1 example", "2 examples"]


def test_tuning_on_one_example_says_one_example(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"text_input": "I", "output": "II"}) + "\n")
    result = cli("tune", "gemini-1.0-pro-001", "--data", str(data), "--id", "one")
    assert result.status == 0, result.err
    assert "on 1 example\n" in result.err
    assert "1 examples" not in result.err
