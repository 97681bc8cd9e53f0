"""`textgen stream MODEL PROMPT`: print the answer piece by piece as the server sends it.

`--json` prints one JSON object per piece (`{"text": ...}`), one per line. With
`--candidate-count N` (N > 1) every candidate is printed: the first as it arrives, under a
`candidate 1:` heading, the others once the stream ends, each under its own heading; in JSON
each piece also names its `candidate` (numbered from 1).
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
    several = (args.candidate_count or 1) > 1
    later: dict[int, list[str]] = {}  # the text of candidates after the first, kept until the end
    wrote = False
    try:
        if several and not out.json_mode:
            out.text("candidate 1:", style="bold")
        for index, piece in stream(client, api, args):
            if out.json_mode:
                shown = {"candidate": index + 1, "text": piece} if several else {"text": piece}
                if index == 0 or several:
                    out.json(shown, indent=None)
            elif index > 0:
                later.setdefault(index, []).append(piece)
            elif piece:
                out.write(piece)
                wrote = True
    finally:
        if wrote or (several and not out.json_mode):
            out.write("\n")
    for index in sorted(later):
        out.text(f"candidate {index + 1}:", style="bold")
        out.text("".join(later[index]))
    return OK
