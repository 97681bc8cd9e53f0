"""`textgen operations list|get NAME|cancel NAME`: long-running tuning and batch jobs."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from textgen.cli._output import OK, Output, proto_dict
from textgen.cli._session import client_options, positive_int, run_with_client

if TYPE_CHECKING:
    from google.longrunning import operations_pb2

    from textgen.cli import Subparsers
    from textgen.client import Client

KINDS = {"CreateTunedModelMetadata": "tuning", "BatchCompletionMetadata": "batch"}


def register(subparsers: Subparsers) -> None:
    """Add `operations` with its list, get and cancel actions."""
    parser = subparsers.add_parser(
        "operations",
        parents=[client_options()],
        help="list, show or cancel long-running operations",
        description="Long-running operations: tuning jobs and batch jobs.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[client_options()], help="list operations")
    listing.add_argument("--filter", default="", help="server-side filter, e.g. done=false")
    listing.add_argument("--limit", type=positive_int, metavar="N", help="show at most N")
    listing.set_defaults(run=run, action=_list)
    for name, action, summary in (
        ("get", _get, "show one operation"),
        ("cancel", _cancel, "ask the server to stop an operation"),
    ):
        sub = actions.add_parser(name, parents=[client_options()], help=summary)
        sub.add_argument("name", metavar="NAME", help="e.g. tunedModels/x/operations/y")
        sub.set_defaults(run=run, action=action)


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    return run_with_client(args, args.action)


def _list(client: Client, out: Output, args: argparse.Namespace) -> int:
    _load_types()
    found: list[operations_pb2.Operation] = []
    for operation in client.operations.list(filter=args.filter):
        found.append(operation)
        if args.limit is not None and len(found) >= args.limit:
            break
    if out.json_mode:
        out.json({"operations": [proto_dict(op) for op in found]})
        return OK
    if not found:
        out.text("no operations")
        return OK
    from rich.table import Table  # noqa: PLC0415

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "KIND", "STATE", "PROGRESS"):
        table.add_column(column, no_wrap=column == "NAME")
    for operation in found:
        view = summarize(operation)
        table.add_row(view["name"], view["kind"], view["state"], view["progress"])
    out.console.print(table)
    return OK


def _get(client: Client, out: Output, args: argparse.Namespace) -> int:
    _load_types()
    operation = client.operations.get(args.name)
    _show(out, operation.raw)
    return OK


def _cancel(client: Client, out: Output, args: argparse.Namespace) -> int:
    _load_types()
    client.operations.cancel(args.name)
    operation = client.operations.get(args.name)
    if not out.json_mode:
        out.text(f"cancel requested for {args.name}")
    _show(out, operation.raw)
    return OK


def _show(out: Output, operation: operations_pb2.Operation) -> None:
    if out.json_mode:
        out.json(proto_dict(operation))
        return
    view = summarize(operation)
    out.fields({key: value for key, value in view.items() if value})


def summarize(operation: operations_pb2.Operation) -> dict[str, str]:
    """Name, kind, state, progress and outcome of an operation, as short strings."""
    from textgen.operation import unpack  # noqa: PLC0415
    from textgen.progress import describe_metadata  # noqa: PLC0415

    metadata: Any = unpack(operation.metadata, None)
    kind = metadata.DESCRIPTOR.name if metadata is not None else ""
    progress = ""
    if metadata is not None:
        step = describe_metadata(metadata)
        if step.total:
            progress = f"{step.completed:g}/{step.total:g} {step.description}"
    return {
        "name": operation.name,
        "kind": KINDS.get(kind, kind),
        "state": _state(operation),
        "progress": progress,
        "result": _outcome(operation),
    }


def _state(operation: operations_pb2.Operation) -> str:
    from google.rpc import code_pb2  # noqa: PLC0415

    if not operation.done:
        return "RUNNING"
    if operation.HasField("error"):
        return "CANCELLED" if operation.error.code == code_pb2.CANCELLED else "FAILED"
    return "DONE"


def _outcome(operation: operations_pb2.Operation) -> str:
    from google.rpc import code_pb2  # noqa: PLC0415

    from textgen.operation import unpack  # noqa: PLC0415

    if operation.HasField("error"):
        code = code_pb2.Code.Name(operation.error.code)
        return f"{code}: {operation.error.message}"
    response: Any = unpack(operation.response, None)
    if response is None:
        return ""
    if response.DESCRIPTOR.name == "TunedModel":
        return f"{response.name} ({type(response).State.Name(response.state)})"
    if response.DESCRIPTOR.name == "BatchCompletionResponse":
        return f"results in datasets/{response.result_dataset_id}"
    return str(response.DESCRIPTOR.name)


def _load_types() -> None:
    """Register the operation metadata and response types, so Any fields can be read."""
    from textgen.v1 import (  # noqa: PLC0415, F401
        text_generation_batch_service_pb2,
        tuned_model_service_pb2,
    )
