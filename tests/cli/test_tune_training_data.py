"""`textgen tune --data`: the CLI reads tuning files with textgen.training_data, the client's
parser, so the Vertex AI keys work here too and errors read the same."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli
from textgen.testing import FakeServer

PAIRS = [("I", "II"), ("II", "III"), ("III", "IV")]


def test_vertex_keys_in_jsonl(cli: Cli, fake: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "numerals.jsonl"
    path.write_text(
        "".join(json.dumps({"input_text": a, "output_text": b}) + "\n" for a, b in PAIRS)
    )
    result = cli("tune", "text-bison-001", "--data", str(path), "--id", "numerals")
    assert result.status == 0, result.err
    examples = fake.journal.last("CreateTunedModel").request.tuned_model.tuning_task
    pairs = [(e.text_input, e.output) for e in examples.training_data.examples.examples]
    assert pairs == PAIRS
    assert cli("generate", "tunedModels/numerals", "II").out == "III\n"


def test_a_bad_row_is_a_usage_error_naming_it(cli: Cli, fake: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("prompt,completion\nI,II\nIII\n")
    result = cli("tune", "text-bison-001", "--data", str(path))
    assert result.status == 2
    assert f"{path}, row 3: expected an input and an output column" in result.err
    fake.journal.assert_called("CreateTunedModel", times=0)
