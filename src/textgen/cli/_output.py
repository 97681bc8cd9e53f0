"""How commands print: human text through rich, JSON for scripts, and errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf.message import Message
    from rich.console import Console

# Exit statuses, the same for every command.
OK = 0
API_ERROR = 1  # the server (or the channel) answered with an error, or a job failed
USAGE_ERROR = 2  # bad arguments or input files; nothing was sent, or the input was refused
INTERRUPTED = 130


def counted(count: int, noun: str) -> str:
    """`1 example`, `2 examples`: count and the noun, plural unless count is 1."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def proto_dict(message: Message) -> dict[str, Any]:
    """A message as JSON-ready data, with the proto field names (snake_case)."""
    from google.protobuf import json_format  # noqa: PLC0415

    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class Output:
    """Where a command writes: stdout for results, stderr for progress and errors.

    In JSON mode, results are one JSON document (or one per line for streams) and errors a
    JSON object on stderr; otherwise both are plain text, readable in CI logs.
    """

    def __init__(self, *, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def console(self) -> Console:
        """The rich console on stdout (created on first use, so capture tools see it)."""
        if self._out is None:
            self._out = _console(stderr=False)
        return self._out

    @property
    def err_console(self) -> Console:
        """The rich console on stderr, for progress bars and errors."""
        if self._err is None:
            self._err = _console(stderr=True)
        return self._err

    def json(self, data: Any, *, indent: int | None = 2) -> None:  # noqa: ANN401  (JSON data)
        """Write one JSON document to stdout."""
        sys.stdout.write(json.dumps(data, indent=indent, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def text(self, text: str, *, style: str | None = None, end: str = "\n") -> None:
        """Write text as given (no markup, no wrapping) to stdout."""
        self.console.print(
            text, style=style, end=end, markup=False, highlight=False, soft_wrap=True
        )

    def write(self, text: str) -> None:
        """Write a piece of a stream as soon as it arrives."""
        sys.stdout.write(text)
        sys.stdout.flush()

    def fields(self, rows: Mapping[str, object]) -> None:
        """Aligned `label: value` lines."""
        width = max((len(label) for label in rows), default=0)
        for label, value in rows.items():
            self.text(f"{label + ':':<{width + 1}} {value}")

    def note(self, text: str) -> None:
        """A side remark on stderr (hidden in JSON mode)."""
        if not self.json_mode:
            self.err_console.print(text, markup=False, highlight=False, soft_wrap=True)

    def error(self, error: Mapping[str, Any]) -> None:
        """Report an error (see `textgen.cli._errors`) on stderr."""
        if self.json_mode:
            sys.stderr.write(json.dumps({"error": error}, ensure_ascii=False) + "\n")
            sys.stderr.flush()
            return
        console = self.err_console
        # The command's own input errors read as plain sentences; the server's carry a code.
        local = error.get("reason") == "LOCAL_INPUT"
        head = f"{error['code']}: " if error.get("code") and not local else ""
        console.print(
            f"error: {head}{error['message']}", markup=False, highlight=False, soft_wrap=True
        )
        for violation in error.get("field_violations", ()):
            console.print(
                f"  {violation['field']}: {violation['description']}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        if error.get("hint"):
            console.print(f"  {error['hint']}", markup=False, highlight=False, soft_wrap=True)


def _console(*, stderr: bool) -> Console:
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=stderr, highlight=False)
