"""Reading the files commands take: tuning examples (JSONL or CSV) and JSON schemas.

Tuning examples are (input, output) pairs:

* JSONL: one object per line, `{"text_input": "III", "output": "IV"}` (`input` or `prompt`
  work for the input, `completion` for the output), or a two-item list `["III", "IV"]`;
* CSV: a header naming the input and output columns as above, or two columns and no header.

Every problem is an InputError naming the file and line, so the command exits with status 2.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from textgen.cli._errors import InputError

INPUT_KEYS = ("text_input", "input", "prompt")
OUTPUT_KEYS = ("output", "completion")


def read_examples(path: str) -> list[tuple[str, str]]:
    """The tuning examples in a .jsonl or .csv file, in order."""
    text = _read(path)
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        examples = _csv_examples(text, path)
    elif suffix in {".jsonl", ".json", ".ndjson"}:
        examples = _jsonl_examples(text, path)
    else:
        raise InputError(f"{path}: expected a .jsonl or .csv file of tuning examples")
    if not examples:
        raise InputError(f"{path}: no tuning examples")
    return examples


def read_json_object(path: str) -> dict[str, Any]:
    """A file holding one JSON object (e.g. a JSON Schema)."""
    try:
        value = json.loads(_read(path))
    except json.JSONDecodeError as bad:
        raise InputError(f"{path}: not JSON ({bad})") from bad
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as missing:
        raise InputError(f"no such file: {path}") from missing
    except (OSError, UnicodeDecodeError) as bad:
        raise InputError(f"cannot read {path}: {bad}") from bad


def _jsonl_examples(text: str, path: str) -> list[tuple[str, str]]:
    examples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as bad:
            raise InputError(f"{path}, line {number}: not JSON ({bad.msg})") from bad
        examples.append(_example(value, f"{path}, line {number}"))
    return examples


def _example(value: object, where: str) -> tuple[str, str]:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    if isinstance(value, dict):
        given = _pick(value, INPUT_KEYS)
        wanted = _pick(value, OUTPUT_KEYS)
        if isinstance(given, str) and isinstance(wanted, str):
            return given, wanted
    raise InputError(
        f'{where}: expected {{"text_input": "...", "output": "..."}} or ["input", "output"]'
    )


def _pick(row: dict[str, Any], keys: tuple[str, ...]) -> object:
    for key in keys:
        if key in row:
            return row[key]
    return None


def _csv_examples(text: str, path: str) -> list[tuple[str, str]]:
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
            raise InputError(f"{path}, row {number}: expected an input and an output column")
        examples.append((row[given], row[wanted]))
    return examples
