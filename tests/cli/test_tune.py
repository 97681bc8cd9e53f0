"""`textgen tune`: files in, a progress bar while it runs, the tuned model out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from textgen.testing import FakeServer

PAIRS = [("I", "II"), ("II", "III"), ("III", "IV"), ("IV", "V")]


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "numerals.jsonl"
    path.write_text("".join(json.dumps({"text_input": a, "output": b}) + "\n" for a, b in PAIRS))
    return path


def test_tune_then_generate_with_the_tuned_model(cli: Cli, jsonl: Path) -> None:
    result = cli(
        "tune", "gemini-1.0-pro-001", "--data", str(jsonl), "--id", "roman",
        "--display-name", "Roman", "--epochs", "2", "--batch-size", "2",
    )  # fmt: skip
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["tuned", "model:", "tunedModels/roman"]
    assert lines[1].split() == ["state:", "ACTIVE"]
    assert "display name: Roman" in result.out
    assert "steps:        4 (epoch 2), final loss " in result.out
    # The progress bar goes to stderr, and ends at every step done.
    assert "tuning" in result.err
    assert "4/4 steps" in result.err
    answer = cli("generate", "tunedModels/roman", "III")
    assert answer.out == "IV\n"


def test_tune_hyperparameters_reach_the_request(cli: Cli, fake: FakeServer, jsonl: Path) -> None:
    argv = ["tune", "gemini-1.0-pro-001", "--data", str(jsonl), "--learning-rate", "0.01"]
    assert cli(*argv, "--epochs", "1").status == 0
    request = fake.journal.last("CreateTunedModel").request
    hyper = request.tuned_model.tuning_task.hyperparameters
    assert hyper.epoch_count == 1
    assert round(hyper.learning_rate, 4) == 0.01
    examples = request.tuned_model.tuning_task.training_data.examples.examples
    assert [(e.text_input, e.output) for e in examples] == PAIRS


def test_tune_from_csv_json(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "numerals.csv"
    path.write_text("input,output\nI,II\nIII,IV\n")
    result = cli("--json", "tune", "gemini-1.0-pro-001", "--data", str(path), "--epochs", "1")
    assert result.status == 0, result.err
    data = result.json()
    assert data["tuned_model"]["state"] == "ACTIVE"
    assert data["operation"].startswith(data["tuned_model"]["name"] + "/operations/")
    assert result.err == ""  # no progress bar in JSON mode off a terminal
    name = data["tuned_model"]["name"]
    assert cli("generate", name, "III").out == "IV\n"


def test_tune_no_wait_prints_the_operation(cli: Cli, jsonl: Path) -> None:
    result = cli("--json", "tune", "gemini-1.0-pro-001", "--data", str(jsonl), "--no-wait")
    assert result.status == 0
    data = result.json()
    assert data["operation"].startswith(data["tuned_model"] + "/operations/")
    shown = cli("--json", "operations", "get", data["operation"])
    assert shown.json()["name"] == data["operation"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text_input": "I"}\n', "line 1: expected"),
        ('{"text_input": "I", "output": "II"}\nnot json\n', "line 2: not JSON"),
        ("", "no tuning examples"),
    ],
)
def test_bad_training_file_is_a_usage_error(
    cli: Cli, fake: FakeServer, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = cli("tune", "gemini-1.0-pro-001", "--data", str(path))
    assert result.status == 2
    assert message in result.err
    fake.journal.assert_called("CreateTunedModel", times=0)


def test_missing_training_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("tune", "gemini-1.0-pro-001", "--data", str(tmp_path / "none.jsonl"))
    assert result.status == 2
    assert result.err.startswith("error: no such file: ")


def test_untunable_base_model_is_an_api_error(cli: Cli, jsonl: Path) -> None:
    result = cli("tune", "gemini-1.5-flash", "--data", str(jsonl))
    assert result.status == 1
    assert result.err.startswith("error: INVALID_ARGUMENT")
    assert "does not support createTunedModel" in result.err
