"""`textgen stream MODEL PROMPT`: print the answer piece by piece as the server sends it.

`--json` prints one JSON object per piece (`{"text": ...}`), one per line.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from textgen.cli._generation import add_generation_options, stream
from textgen.cli._models import GENERATE, choose
from textgen.cli._output import OK, Output
from textgen.cli._session import client_options, run_with_client

if TYPE_CHECKING:
    from textgen.cli import Subparsers
    from textgen.client import Client


def register(subparsers: Subparsers) -> None:
    """Add `stream`."""
    parser = subparsers.add_parser(
        "stream",
        parents=[client_options()],
        help="stream an answer as it is generated",
        description="Stream the answer to PROMPT from MODEL, printing pieces as they arrive.",
    )
    add_generation_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Stream and print."""
    return run_with_client(args, _stream)


def _stream(client: Client, out: Output, args: argparse.Namespace) -> int:
    api = choose(client, args.model, args.api, GENERATE)
    wrote = False
    try:
        for piece in stream(client, api, args):
            if out.json_mode:
                out.json({"text": piece}, indent=None)
            elif piece:
                out.write(piece)
                wrote = True
    finally:
        if wrote:
            out.write("\n")
    return OK
