"""textgen.training_data: the one parser of tuning examples, for the client and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textgen.training_data import (
    TrainingDataError,
    is_path,
    parse_example,
    parse_examples,
    read_file,
)

PAIRS = [("I", "II"), ("III", "IV")]


@pytest.mark.parametrize(
    "row",
    [
        {"text_input": "I", "output": "II"},
        {"input_text": "I", "output_text": "II"},  # Vertex AI's keys
        {"input": "I", "output": "II"},
        {"prompt": "I", "completion": "II"},  # the CLI's keys, once refused by the client
        ["I", "II"],
        ("I", "II"),
    ],
)
def test_every_form_of_one_example(row: object) -> None:
    assert parse_example(row, "here") == ("I", "II")


@pytest.mark.parametrize(
    "row", [{"text_input": "I"}, {"input_text": 1, "output_text": "II"}, ["I"], "I II", 3]
)
def test_a_bad_example_says_where_and_what_is_expected(row: object) -> None:
    with pytest.raises(TrainingDataError, match=r"^example 1: expected \{\"text_input\""):
        parse_examples([("ok", "ok"), row])


def test_paths_are_str_or_pathlike() -> None:
    assert is_path("data.jsonl") and is_path(Path("data.csv"))
    assert not is_path(PAIRS) and not is_path([{"prompt": "a", "completion": "b"}])


def test_jsonl_with_mixed_keys_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    rows = [{"input_text": "I", "output_text": "II"}, ["III", "IV"]]
    path.write_text(json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n", encoding="utf-8")
    assert read_file(path) == PAIRS
    assert read_file(str(path)) == PAIRS


@pytest.mark.parametrize(
    "text",
    [
        "input_text,output_text\nI,II\nIII,IV\n",
        "prompt,completion\nI,II\nIII,IV\n",
        "output,text_input\nII,I\nIV,III\n",  # columns found by name, in any order
        "I,II\nIII,IV\n",  # no header: input then output
    ],
)
def test_csv_headers(tmp_path: Path, text: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    assert read_file(path) == PAIRS


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.jsonl", '{"input_text": "I", "output_text": "II"}\nnot json\n', "line 2: not JSON"),
        ("a.jsonl", '{"input_text": "I"}\n', "line 1: expected"),
        ("a.jsonl", "\n\n", "no tuning examples"),
        ("a.csv", "input,output\nI\n", "row 2: expected an input and an output column"),
        ("a.txt", "I,II\n", "expected a .jsonl or .csv file"),
    ],
)
def test_file_errors_name_the_file_and_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TrainingDataError) as caught:
        read_file(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match=r"^no such file: "):
        read_file(tmp_path / "none.jsonl")
