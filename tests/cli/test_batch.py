"""`textgen batch`: prompts in, a progress bar of batches, results out in input order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from textgen.testing import FakeServer

BLOCKED = "unsafe:dangerous_content:high"


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    lines = [json.dumps({"text": f"Describe the number {n}."}) for n in range(45)]
    lines.insert(10, json.dumps(BLOCKED))
    lines.append(json.dumps({"messages": [{"author": "user", "content": "Hello"}]}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_batch_writes_one_result_per_prompt_in_order(
    cli: Cli, fake: FakeServer, prompts: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    result = cli(
        "batch", "gemini-1.5-flash", "--input", str(prompts), "--output", str(output),
        "--temperature", "0.5", "--max-tokens", "16",
    )  # fmt: skip
    assert result.status == 0, result.err
    assert "COMPLETED: 47 rows, 46 completed, 1 failed" in result.out
    assert f"results written to {output}" in result.out
    assert "3/3 batches" in result.err  # the final progress bar
    rows = _lines(output)
    assert [row["index"] for row in rows] == list(range(47))
    assert rows[0] == {
        "index": 0,
        "input": "Describe the number 0.",
        "completion": rows[0]["completion"],
    }
    assert rows[10]["input"] == BLOCKED
    assert rows[10]["error"]["code"] == "INVALID_ARGUMENT"  # type: ignore[index]
    assert "blocked" in rows[10]["error"]["message"]  # type: ignore[index]
    assert rows[46]["input"] == {"messages": [{"author": "user", "content": "Hello"}]}
    request = fake.journal.last("Completion").request
    assert request.completion_options.max_tokens.value == 16


def test_batch_json_summary(cli: Cli, prompts: Path, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    result = cli(
        "--json", "batch", "gemini-2.0-flash-001", "--input", str(prompts), "--output", str(output)
    )
    assert result.status == 0, result.err
    summary = result.json()
    assert summary["status"] == "COMPLETED"
    assert (summary["rows"], summary["completed"], summary["failed"]) == (47, 46, 1)
    assert summary["operation"] == f"operations/{summary['task_id']}"
    assert summary["result_dataset"].startswith("datasets/")
    assert summary["output"] == str(output)
    assert len(_lines(output)) == 47


def test_batch_json_schema(cli: Cli, fake: FakeServer, prompts: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}}))
    output = tmp_path / "results.jsonl"
    argv = ["--input", str(prompts), "--output", str(output), "--json-schema", str(schema)]
    result = cli("batch", "gemini-1.5-flash", *argv)
    assert result.status == 0, result.err
    request = fake.journal.last("Completion").request
    assert request.json_schema.schema["type"] == "object"
    completions = [row["completion"] for row in _lines(output) if "completion" in row]
    assert all(isinstance(json.loads(text), dict) for text in completions)  # type: ignore[arg-type]


def test_batch_bad_temperature_names_the_field(cli: Cli, prompts: Path, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    argv = ["--input", str(prompts), "--output", str(output), "--temperature", "5"]
    result = cli("batch", "gemini-1.5-flash", *argv)
    assert result.status == 1
    assert "  completion_options.temperature: must be between 0 and 1" in result.err.splitlines()


def test_batch_bad_prompt_line_is_a_usage_error(cli: Cli, fake: FakeServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"prompt": 3}\n')
    result = cli("batch", "gemini-1.5-flash", "--input", str(bad), "--output", str(tmp_path / "o"))
    assert result.status == 2
    assert "line 2" in result.err
    fake.journal.assert_called("Completion", times=0)


def test_batch_output_folder_must_exist(
    cli: Cli, fake: FakeServer, prompts: Path, tmp_path: Path
) -> None:
    output = tmp_path / "missing" / "results.jsonl"
    result = cli("batch", "gemini-1.5-flash", "--input", str(prompts), "--output", str(output))
    assert result.status == 2
    assert result.err == f"error: cannot write the results to {output}\n"
    fake.journal.assert_called("UploadDataset", times=0)


def test_batch_missing_input(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "batch", "m", "--input", str(tmp_path / "no.jsonl"), "--output", str(tmp_path / "o")
    )
    assert result.status == 2
    assert "no such file" in result.err
