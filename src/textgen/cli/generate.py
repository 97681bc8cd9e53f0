"""`textgen generate MODEL PROMPT`: one answer (or several candidates) from any model.

The API family comes from the model's supported methods (see `textgen.cli._models`):
content models (gemini-*) use GenerateContent, text models (text-bison-001) GenerateText,
chat models (chat-bison-001) GenerateMessage; tuned models follow their base model.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from textgen.cli._generation import add_generation_options, generate
from textgen.cli._models import GENERATE, choose, full_name
from textgen.cli._output import OK, Output, proto_dict
from textgen.cli._session import client_options, run_with_client

if TYPE_CHECKING:
    from textgen.cli import Subparsers
    from textgen.client import Client


def register(subparsers: Subparsers) -> None:
    """Add `generate`."""
    parser = subparsers.add_parser(
        "generate",
        parents=[client_options()],
        help="generate an answer to a prompt",
        description="Generate an answer to PROMPT with MODEL and print it.",
    )
    add_generation_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Generate and print."""
    return run_with_client(args, _generate)


def _generate(client: Client, out: Output, args: argparse.Namespace) -> int:
    api = choose(client, args.model, args.api, GENERATE)
    answer = generate(client, api, args)
    if out.json_mode:
        out.json(
            {
                "model": full_name(args.model),
                "api": api,
                "text": answer.candidates[0] if answer.candidates else "",
                "candidates": answer.candidates,
                "response": proto_dict(answer.raw),
            }
        )
    elif len(answer.candidates) == 1:
        out.text(answer.candidates[0])
    else:
        for number, text in enumerate(answer.candidates, start=1):
            out.text(f"candidate {number}:", style="bold")
            out.text(text)
    return OK
