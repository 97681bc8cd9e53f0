"""Reading the files commands take: tuning examples (JSONL or CSV) and JSON schemas.

Tuning examples are read by `textgen.training_data`, the parser the client's
`tuned_models.create` uses too: JSONL of `{"text_input": "III", "output": "IV"}` (or
`input_text`/`output_text`, `input`, `prompt`/`completion`) or `["III", "IV"]` lines, or CSV
with a header naming those columns, or two columns and no header.

Every problem is an InputError naming the file and line, so the command exits with status 2.
"""

from __future__ import annotations

import json
from typing import Any

from textgen import training_data
from textgen.cli._errors import InputError


def read_examples(path: str) -> list[tuple[str, str]]:
    """The tuning examples in a .jsonl or .csv file, in order."""
    try:
        return training_data.read_file(path)
    except training_data.TrainingDataError as bad:
        raise InputError(str(bad)) from bad


def read_json_object(path: str) -> dict[str, Any]:
    """A file holding one JSON object (e.g. a JSON Schema)."""
    try:
        value = json.loads(training_data.read_text(path, InputError))
    except json.JSONDecodeError as bad:
        raise InputError(f"{path}: not JSON ({bad})") from bad
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value
