"""The `textgen` command line: one module per command, listed in COMMANDS.

A command module exposes `register(subparsers)`, which adds its parser and sets the function
that runs it, `run(args) -> int`, as the parser's `run` default::

    def register(subparsers: Subparsers) -> None:
        parser = subparsers.add_parser("serve", help="...")
        parser.add_argument("--port", type=int, default=50051)
        parser.set_defaults(run=run)

To add a command, write such a module and append it to COMMANDS. Keep heavy imports inside
`run`, so that `textgen --help` and the other commands start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Protocol, TypeAlias

from textgen import __version__
from textgen._extras import missing_extra
from textgen.cli import (
    batch,
    count_tokens,
    embed,
    generate,
    operations,
    serve,
    stream,
    tune,
)
from textgen.cli._session import add_global_options

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Runner: TypeAlias = Callable[[argparse.Namespace], int]


class Command(Protocol):
    """A command module."""

    def register(self, subparsers: Subparsers) -> None:
        """Add the command's parser and set its `run` default."""
        ...


COMMANDS: tuple[Command, ...] = (
    generate,
    stream,
    count_tokens,
    embed,
    tune,
    batch,
    operations,
    serve,
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command of COMMANDS."""
    parser = argparse.ArgumentParser(
        prog="textgen", description="Tools for the textgen.v1 text-generation API."
    )
    parser.add_argument("--version", action="version", version=f"textgen {__version__}")
    add_global_options(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status: 0, 1 for API errors, 2 for usage errors.

    Bad arguments make argparse print the usage and raise SystemExit(2), as --help and
    --version raise SystemExit(0).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Runner | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return run(args)
    except ImportError as error:
        # An optional dependency is missing: say which extra brings it, in one line.
        missing = missing_extra(error, f"textgen {args.command}")
        if missing is None:
            raise
        print(f"textgen: {missing}", file=sys.stderr)
        return 2
