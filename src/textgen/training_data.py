"""Tuning examples from a file or from memory: the one parser of the client and the CLI.

An example is an (input, output) pair of strings, written in any of these forms:

* a two-item list or tuple, `["III", "IV"]`;
* an object whose input is under `text_input`, `input_text` (Vertex AI's name), `input` or
  `prompt`, and whose output is under `output`, `output_text` (Vertex AI's) or `completion`.

A file is JSONL (`.jsonl`, `.json`, `.ndjson`: one example per line, blank lines skipped) or
CSV (`.csv`: a header naming the input and output columns with the keys above, or two columns
and no header). Every problem is a TrainingDataError whose message names the file and line, or
the example's index, so the caller can show it as it is.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

Example = tuple[str, str]

INPUT_KEYS = ("text_input", "input_text", "input", "prompt")
OUTPUT_KEYS = ("output", "output_text", "completion")
JSONL_SUFFIXES = frozenset({".jsonl", ".json", ".ndjson"})
CSV_SUFFIXES = frozenset({".csv"})
_EXPECTED = (
    'expected {"text_input": "...", "output": "..."} (or input_text/output_text, '
    'prompt/completion) or ["input", "output"]'
)


class TrainingDataError(ValueError):
    """Training data that cannot be read as examples; the message says where and why."""


def is_path(data: object) -> bool:
    """Whether `data` names a file (a str or an os.PathLike) rather than holding examples."""
    return isinstance(data, str | os.PathLike)


def read_file(path: str | os.PathLike[str]) -> list[Example]:
    """The examples in a JSONL or CSV file, in order; at least one."""
    shown = os.fspath(path)
    text = read_text(shown)
    suffix = Path(shown).suffix.lower()
    if suffix not in JSONL_SUFFIXES | CSV_SUFFIXES:
        raise TrainingDataError(f"{shown}: expected a .jsonl or .csv file of tuning examples")
    examples = _csv(text, shown) if suffix in CSV_SUFFIXES else _jsonl(text, shown)
    if not examples:
        raise TrainingDataError(f"{shown}: no tuning examples")
    return examples


def parse_example(value: object, where: str) -> Example:
    """One example from a pair or a mapping (see the module docstring); `where` says which
    example it is, for the error."""
    if isinstance(value, list | tuple) and len(value) == 2:
        given, wanted = value
        if isinstance(given, str) and isinstance(wanted, str):
            return given, wanted
    elif isinstance(value, Mapping):
        given = _pick(value, INPUT_KEYS)
        wanted = _pick(value, OUTPUT_KEYS)
        if isinstance(given, str) and isinstance(wanted, str):
            return given, wanted
    raise TrainingDataError(f"{where}: {_EXPECTED}, not {_short(value)}")


def parse_examples(items: Iterable[object]) -> list[Example]:
    """Examples from pairs or mappings in memory, in order."""
    return [parse_example(item, f"example {index}") for index, item in enumerate(items)]


def _pick(row: Mapping[object, object], keys: tuple[str, ...]) -> object:
    for key in keys:
        if key in row:
            return row[key]
    return None


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def read_text(path: str, error: type[Exception] = TrainingDataError) -> str:
    """A UTF-8 file's text; `error` with a one-line message when it is missing or unreadable
    (the CLI reads its other input files with it too, raising its own error)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as missing:
        raise error(f"no such file: {path}") from missing
    except (OSError, UnicodeDecodeError) as bad:
        raise error(f"cannot read {path}: {bad}") from bad


def _jsonl(text: str, path: str) -> list[Example]:
    examples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as bad:
            raise TrainingDataError(f"{path}, line {number}: not JSON ({bad.msg})") from bad
        examples.append(parse_example(value, f"{path}, line {number}"))
    return examples


def _csv(text: str, path: str) -> list[Example]:
    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    given = next((header.index(k) for k in INPUT_KEYS if k in header), None)
    wanted = next((header.index(k) for k in OUTPUT_KEYS if k in header), None)
    if given is None or wanted is None:
        given, wanted, body, first_line = 0, 1, rows, 1
    else:
        body, first_line = rows[1:], 2
    examples = []
    for number, row in enumerate(body, first_line):
        if len(row) <= max(given, wanted):
            raise TrainingDataError(f"{path}, row {number}: expected an input and an output column")
        examples.append((row[given], row[wanted]))
    return examples
