"""`textgen embed MODEL TEXT...`: embedding vectors, shown as their size and first values.

`--json` prints every vector in full.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from textgen.cli._errors import InputError
from textgen.cli._models import AUTO, EMBED, choose, full_name
from textgen.cli._output import OK, Output
from textgen.cli._session import client_options, positive_int, run_with_client

if TYPE_CHECKING:
    from textgen.cli import Subparsers
    from textgen.client import Client

SHOWN = 5


def register(subparsers: Subparsers) -> None:
    """Add `embed`."""
    parser = subparsers.add_parser(
        "embed",
        parents=[client_options()],
        help="embed texts as vectors",
        description="Embed each TEXT with MODEL; print the dimension and the first values.",
    )
    parser.add_argument("model", metavar="MODEL", help="e.g. text-embedding-004")
    parser.add_argument("texts", metavar="TEXT", nargs="+", help="the texts to embed")
    parser.add_argument(
        "--api",
        choices=(AUTO, "content", "text"),
        default=AUTO,
        help="API family to call; auto reads the model's supported methods (default: auto)",
    )
    parser.add_argument(
        "--task-type",
        type=task_type,
        metavar="TYPE",
        help="content API: e.g. RETRIEVAL_QUERY, CLUSTERING (any case)",
    )
    parser.add_argument(
        "--dimensions", type=positive_int, metavar="N", help="content API: a shorter vector"
    )
    parser.add_argument(
        "--show",
        type=positive_int,
        default=SHOWN,
        metavar="N",
        help=f"values to print per vector (default: {SHOWN})",
    )
    parser.set_defaults(run=run)


def task_type(text: str) -> str:
    """An argparse type: a TaskType name (any case), or an error listing the valid ones."""
    from textgen.v1 import generation_pb2  # noqa: PLC0415  (only when --task-type is given)

    every = generation_pb2.TaskType.keys()
    names = [name for name in every if not name.endswith("UNSPECIFIED")]
    name = text.strip().upper().replace("-", "_")
    if name not in names:
        raise argparse.ArgumentTypeError(
            f"unknown task type {text!r}; valid values: {', '.join(names)}"
        )
    return name


def run(args: argparse.Namespace) -> int:
    """Embed and print."""
    return run_with_client(args, _embed)


def _embed(client: Client, out: Output, args: argparse.Namespace) -> int:
    api = choose(client, args.model, args.api, EMBED)
    vectors = _vectors(client, api, args)
    dimension = len(vectors[0]) if vectors else 0
    if out.json_mode:
        out.json(
            {
                "model": full_name(args.model),
                "api": api,
                "dimension": dimension,
                "embeddings": [
                    {"text": text, "values": vector}
                    for text, vector in zip(args.texts, vectors, strict=True)
                ],
            }
        )
        return OK
    count = len(vectors)
    out.text(f"{count} embedding{'' if count == 1 else 's'} of dimension {dimension}")
    for text, vector in zip(args.texts, vectors, strict=True):
        shown = ", ".join(f"{value:.4f}" for value in vector[: args.show])
        more = ", ..." if len(vector) > args.show else ""
        out.text(f"{_short(text)}: [{shown}{more}]")
    return OK


def _vectors(client: Client, api: str, args: argparse.Namespace) -> list[list[float]]:
    if api == "content":
        return [
            list(
                client.models.embed_content(
                    args.model,
                    text,
                    task_type=args.task_type,
                    output_dimensionality=args.dimensions,
                )
            )
            for text in args.texts
        ]
    if args.task_type or args.dimensions:
        raise InputError("--task-type and --dimensions need a content embedding model")
    if len(args.texts) == 1:
        return [client.models.embed_text(args.model, args.texts[0])]
    return client.models.batch_embed_text(args.model, args.texts)


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
