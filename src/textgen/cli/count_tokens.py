"""`textgen count-tokens MODEL TEXT`: how many tokens TEXT takes for MODEL."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from textgen.cli._models import APIS, AUTO, COUNT, choose, full_name
from textgen.cli._output import OK, Output
from textgen.cli._session import client_options, run_with_client

if TYPE_CHECKING:
    from textgen.cli import Subparsers
    from textgen.client import Client


def register(subparsers: Subparsers) -> None:
    """Add `count-tokens`."""
    parser = subparsers.add_parser(
        "count-tokens",
        parents=[client_options()],
        help="count the tokens of a text",
        description="Count the tokens TEXT takes for MODEL.",
    )
    parser.add_argument("model", metavar="MODEL", help="e.g. gemini-1.5-flash")
    parser.add_argument("text", metavar="TEXT", help="the text to count")
    parser.add_argument(
        "--api",
        choices=(AUTO, *APIS),
        default=AUTO,
        help="API family to call; auto reads the model's supported methods (default: auto)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Count and print."""
    return run_with_client(args, _count)


def _count(client: Client, out: Output, args: argparse.Namespace) -> int:
    api = choose(client, args.model, args.api, COUNT)
    total: int
    if api == "content":
        total = client.models.count_tokens(args.model, args.text)
    elif api == "text":
        total = client.models.count_text_tokens(args.model, args.text)
    else:
        total = client.models.count_message_tokens(args.model, args.text)
    if out.json_mode:
        out.json({"model": full_name(args.model), "api": api, "total_tokens": total})
    else:
        out.text(f"{total} token{'' if total == 1 else 's'}")
    return OK
