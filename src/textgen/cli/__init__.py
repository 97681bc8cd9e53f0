"""The `textgen` command line: one module per command, named in COMMANDS.

A command module exposes `register(subparsers)`, which adds its parser and sets the function
that runs it, `run(args) -> int`, as the parser's `run` default::

    def register(subparsers: Subparsers) -> None:
        parser = subparsers.add_parser("serve", help="...")
        parser.add_argument("--port", type=int, default=50051)
        parser.set_defaults(run=run)

To add a command, write such a module and add it to COMMANDS. Keep heavy imports inside
`run`, so that `textgen --help` and the other commands start fast. A command module is
imported only when its parser is needed: `textgen serve ...` loads the serve module alone,
not the client commands.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Protocol, TypeAlias, cast

from textgen import __version__
from textgen._extras import missing_extra
from textgen.cli._session import add_global_options

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Runner: TypeAlias = Callable[[argparse.Namespace], int]


class Command(Protocol):
    """A command module."""

    def register(self, subparsers: Subparsers) -> None:
        """Add the command's parser and set its `run` default."""
        ...


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own help layout and width, found without shutil.

    argparse makes a formatter at every add_argument, and its own, left to size itself,
    imports shutil (about 2 ms, a noticeable part of `textgen serve`'s start) to ask for the
    terminal's width. This one asks as shutil.get_terminal_size does: COLUMNS, else the
    terminal of stdout, else 80 columns, less the 2 argparse leaves.
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )


def _columns() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (ValueError, OSError):  # a closed stdout, or not a terminal
            columns = 0
    return columns or 80


# Each command's name -> its module in textgen.cli, in the order `textgen --help` lists them.
COMMANDS: dict[str, str] = {
    "generate": "generate",
    "stream": "stream",
    "count-tokens": "count_tokens",
    "embed": "embed",
    "tune": "tune",
    "batch": "batch",
    "operations": "operations",
    "serve": "serve",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every command of COMMANDS, or with the command `only`."""
    parser = argparse.ArgumentParser(
        prog="textgen",
        description="Tools for the textgen.v1 text-generation API.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"textgen {__version__}")
    add_global_options(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for name, module in COMMANDS.items():
        if only is None or name == only:
            command = cast("Command", importlib.import_module(f"{__name__}.{module}"))
            command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status: 0, 1 for API errors, 2 for usage errors.

    Bad arguments make argparse print the usage and raise SystemExit(2), as --help and
    --version raise SystemExit(0).
    """
    given = sys.argv[1:] if argv is None else list(argv)
    # A command named first parses the same with its own parser alone, which spares loading
    # (and building parsers for) every other command.
    parser = build_parser(given[0] if given and given[0] in COMMANDS else None)
    args = parser.parse_args(given)
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
