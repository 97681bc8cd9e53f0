"""`textgen batch MODEL --input prompts.jsonl --output results.jsonl`: a batch completion job.

The prompts are uploaded as a dataset (each line `{"text": ...}`, `{"messages": [...]}` or a
JSON string), the job runs with a live progress bar of batches on stderr, and every result
row is written to the output file in input order, one JSON object per line::

    {"index": 0, "input": "...", "completion": "..."}
    {"index": 1, "input": "...", "error": {"code": "INVALID_ARGUMENT", "message": "..."}}
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textgen.cli._errors import InputError
from textgen.cli._files import read_json_object
from textgen.cli._output import OK, Output, counted, proto_dict
from textgen.cli._progress import progress_bar
from textgen.cli._session import client_options, positive_int, run_with_client

if TYPE_CHECKING:
    from textgen.cli import Subparsers
    from textgen.client import Client
    from textgen.rows import ResultRow
    from textgen.v1 import dataset_pb2


def register(subparsers: Subparsers) -> None:
    """Add `batch`."""
    parser = subparsers.add_parser(
        "batch",
        parents=[client_options()],
        help="run a JSONL file of prompts as a batch job",
        description="Upload the prompts in --input, run them through MODEL as a batch job, "
        "and write one result per line to --output.",
    )
    parser.add_argument("model", metavar="MODEL", help="e.g. gemini-1.5-flash, tunedModels/x")
    parser.add_argument("--input", required=True, metavar="FILE", help="JSONL of prompts")
    parser.add_argument("--output", required=True, metavar="FILE", help="JSONL of results")
    parser.add_argument("--temperature", type=float, help="randomness, 0 to 1 (default: 0.3)")
    parser.add_argument("--max-tokens", type=positive_int, metavar="N", help="answer length cap")
    parser.add_argument(
        "--reasoning",
        choices=("disabled", "enabled_hidden"),
        help="let the model reason before answering (hidden from the output)",
    )
    answers = parser.add_mutually_exclusive_group()
    answers.add_argument(
        "--json-schema", metavar="FILE", help="answer JSON matching this JSON Schema object"
    )
    answers.add_argument("--json-object", action="store_true", help="answer any JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Upload, run, and write the results."""
    return run_with_client(args, _batch)


def _batch(client: Client, out: Output, args: argparse.Namespace) -> int:
    from textgen import BatchStatus  # noqa: PLC0415

    schema = read_json_object(args.json_schema) if args.json_schema else None
    if not Path(args.input).is_file():
        raise InputError(f"no such file: {args.input}")
    _check_writable(Path(args.output))
    dataset = client.datasets.create_from_jsonl(args.input)
    out.note(f"uploaded {counted(dataset.row_count, 'prompt')} as {dataset.name}")
    options: dict[str, Any] = {
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "reasoning_mode": args.reasoning,
        "json_schema": schema,
        "json_object": args.json_object or None,
    }
    job = client.batches.create(
        args.model,
        dataset=dataset.name,
        **{key: value for key, value in options.items() if value is not None},
    )
    out.note(f"running {job.name}")
    try:
        job.wait(progress=progress_bar(out, "batch") or False)
    except KeyboardInterrupt:
        out.note(f"stopped waiting; to stop the job: textgen operations cancel {job.name}")
        raise
    completed, failed = _write(job.results(), Path(args.output))
    status = BatchStatus.Name(job.status)
    if out.json_mode:
        out.json(
            {
                "operation": job.name,
                "task_id": job.task_id,
                "status": status,
                "source_dataset": dataset.name,
                "result_dataset": job.result_dataset,
                "rows": completed + failed,
                "completed": completed,
                "failed": failed,
                "output": args.output,
            }
        )
    else:
        out.text(
            f"{job.name} {status}: {counted(completed + failed, 'row')}, "
            f"{completed} completed, {failed} failed"
        )
        out.text(f"results written to {args.output}")
    return OK


def _check_writable(path: Path) -> None:
    """Fail before any work when the output cannot be written (it is written at the end)."""
    folder = path.parent
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InputError(f"cannot write the results to {path}")


def _write(rows: Iterable[ResultRow], path: Path) -> tuple[int, int]:
    """Stream the result rows into a file next to `path`, then move it into place."""
    completed = failed = 0
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as sink:
            for row in rows:
                sink.write(json.dumps(result_line(row), ensure_ascii=False) + "\n")
                if row.ok:
                    completed += 1
                else:
                    failed += 1
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return completed, failed


def result_line(row: ResultRow) -> dict[str, Any]:
    """One output line: the row's index, its input, and its completion or error."""
    line: dict[str, Any] = {"index": row.index, "input": _input(row.input)}
    if row.error is not None:
        from google.rpc import code_pb2  # noqa: PLC0415

        line["error"] = {"code": code_pb2.Code.Name(row.error.code), "message": row.error.message}
    else:
        line["completion"] = row.completion
    return line


def _input(prompt: dataset_pb2.DatasetPrompt) -> Any:  # noqa: ANN401  (JSON data)
    if prompt.WhichOneof("prompt") == "messages":
        return {"messages": [proto_dict(message) for message in prompt.messages.messages]}
    return prompt.text
