"""The options every client command shares, and running a command's body with a Client.

The global options work before the command (`textgen --json generate ...`) and after it
(`textgen generate ... --json`): the top-level parser holds their defaults, and each command
parser repeats them with suppressed defaults, so only a value given there overrides.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from textgen.cli._errors import describe
from textgen.cli._output import Output

if TYPE_CHECKING:
    from textgen.client import Client

Body = Callable[["Client", Output, argparse.Namespace], int]
DEFAULT_TIMEOUT = 60.0
# Where `textgen serve` listens by default: the target when no option or variable names one.
EMULATOR_TARGET = "127.0.0.1:50051"


def positive_float(text: str) -> float:
    """An argparse type: a number greater than 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number greater than 0."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
    return value


def add_global_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """--target, --api-key, --timeout and --json; suppress=True leaves unset ones out."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--target",
        default=default(None),
        metavar="HOST:PORT",
        help="server address (default: $TEXTGEN_ENDPOINT, else $TEXTGEN_EMULATOR_HOST, else "
        f"the emulator's own address, {EMULATOR_TARGET})",
    )
    group.add_argument(
        "--api-key",
        dest="api_key",
        default=default(None),
        metavar="KEY",
        help="API key sent as x-api-key (default: $TEXTGEN_API_KEY)",
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        default=default(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"deadline of each call, retries included (default: {DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print machine-readable JSON (errors as JSON on stderr)",
    )


def client_options() -> argparse.ArgumentParser:
    """A parent parser carrying the global options, for `add_parser(parents=[...])`."""
    parent = argparse.ArgumentParser(add_help=False)
    add_global_options(parent, suppress=True)
    return parent


def run_with_client(args: argparse.Namespace, body: Body) -> int:
    """Open a Client from the global options, run body, and turn failures into a status."""
    out = Output(json_mode=bool(getattr(args, "json", False)))
    target: str | None = getattr(args, "target", None) or _from_environment()
    try:
        from textgen.client import Client  # noqa: PLC0415

        with Client(
            target,
            api_key=getattr(args, "api_key", None),
            timeout=getattr(args, "timeout", DEFAULT_TIMEOUT),
        ) as client:
            return body(client, out, args)
    except (Exception, KeyboardInterrupt) as error:
        described, status = describe(error, target)
        out.error(described)
        return status


def _from_environment() -> str:
    """$TEXTGEN_ENDPOINT, else $TEXTGEN_EMULATOR_HOST, else EMULATOR_TARGET (what the client
    would find by itself, with the emulator's default address as the last resort)."""
    return (
        os.environ.get("TEXTGEN_ENDPOINT")
        or os.environ.get("TEXTGEN_EMULATOR_HOST")
        or EMULATOR_TARGET
    )
