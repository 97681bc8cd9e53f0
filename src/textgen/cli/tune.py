"""`textgen tune BASE_MODEL --data FILE`: tune a model on examples, with a live progress bar.

FILE is JSONL or CSV of (input, output) pairs (see `textgen.cli._files`). The command waits
for the job, drawing the tuning steps on stderr, then prints the tuned model's name and
state; `--no-wait` prints the operation name and returns at once.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from textgen.cli._files import read_examples
from textgen.cli._output import OK, Output, counted, proto_dict
from textgen.cli._progress import progress_bar
from textgen.cli._session import client_options, positive_float, positive_int, run_with_client

if TYPE_CHECKING:
    from textgen.cli import Subparsers
    from textgen.client import Client
    from textgen.v1 import tuned_model_pb2


def register(subparsers: Subparsers) -> None:
    """Add `tune`."""
    parser = subparsers.add_parser(
        "tune",
        parents=[client_options()],
        help="tune a model on your examples",
        description="Tune BASE_MODEL on the examples in --data and wait for the tuned model.",
    )
    parser.add_argument("base_model", metavar="BASE_MODEL", help="e.g. gemini-1.0-pro-001")
    parser.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help='.jsonl of {"text_input": ..., "output": ...} lines, or .csv with those columns',
    )
    parser.add_argument("--id", dest="tuned_model_id", help="the tuned model's id (optional)")
    parser.add_argument("--display-name", help="a human-readable name")
    parser.add_argument("--epochs", type=positive_int, metavar="N", help="passes over the data")
    parser.add_argument("--batch-size", type=positive_int, metavar="N", help="examples per step")
    parser.add_argument("--learning-rate", type=positive_float, metavar="RATE", help="step size")
    parser.add_argument(
        "--no-wait", action="store_true", help="print the operation name and return at once"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Tune and report."""
    return run_with_client(args, _tune)


def _tune(client: Client, out: Output, args: argparse.Namespace) -> int:
    examples = read_examples(args.data)
    operation = client.tuned_models.create(
        args.base_model,
        examples,
        tuned_model_id=args.tuned_model_id,
        display_name=args.display_name,
        epoch_count=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
    )
    metadata = operation.metadata
    name = metadata.tuned_model if metadata is not None and metadata.tuned_model else ""
    if args.no_wait:
        if out.json_mode:
            out.json({"operation": operation.name, "tuned_model": name})
        else:
            out.fields({"operation": operation.name, "tuned model": name or "(pending)"})
        return OK
    out.note(f"tuning {name or args.base_model} on {counted(len(examples), 'example')}")
    try:
        tuned = operation.result(progress=progress_bar(out, "tuning") or False)
    except KeyboardInterrupt:
        out.note(f"stopped waiting; to stop the job: textgen operations cancel {operation.name}")
        raise
    if out.json_mode:
        out.json({"operation": operation.name, "tuned_model": proto_dict(tuned)})
    else:
        out.fields(_summary(tuned, operation.name))
    return OK


def _summary(tuned: tuned_model_pb2.TunedModel, operation: str) -> dict[str, object]:
    state = type(tuned).State.Name(tuned.state)
    base = tuned.base_model or tuned.tuned_model_source.base_model
    rows: dict[str, object] = {"tuned model": tuned.name, "state": state, "base model": base}
    if tuned.display_name:
        rows["display name"] = tuned.display_name
    snapshots = tuned.tuning_task.snapshots
    if snapshots:
        last = snapshots[-1]
        rows["steps"] = f"{last.step} (epoch {last.epoch}), final loss {last.mean_loss:.4f}"
    rows["operation"] = operation
    return rows
