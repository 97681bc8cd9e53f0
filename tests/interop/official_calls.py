"""The README's tables of official-client calls, rendered from the interop tests' own lists.

Each interop module lists the official calls its tests make: test_official_google.py its
parametrised CASES (one row each) and ROWS for the calls its other tests make,
test_official_yandex.py and test_official_yandex_batch_inference.py their ROWS (one table).
Every row names the test that makes the call.
tests/interop/test_readme_tables.py renders the rows and checks that the README holds exactly
that table between `<!-- official-calls:NAME -->` and `<!-- /official-calls:NAME -->`; run
this module (`python -m tests.interop.official_calls`) in the latest leg to print them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass(frozen=True)
class Row:
    """One official-client call: how it is written, the upstream method, what it gets against
    the emulator, and the test function that makes it."""

    call: str
    method: str
    outcome: str
    test: str


HEADER = ("official client call", "upstream method", "against the emulator")


def render(rows: Iterable[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [f"| {' | '.join(HEADER)} |", "|---|---|---|"]
    lines += [f"| {row.call} | {row.method} | {row.outcome} |" for row in rows]
    return "\n".join(lines)


def readme_table(name: str, text: str | None = None) -> str:
    """The README's table between the `official-calls:NAME` markers."""
    text = README.read_text() if text is None else text
    found = re.search(
        rf"<!-- official-calls:{name} -->\n(.*?)\n<!-- /official-calls:{name} -->", text, re.S
    )
    if found is None:
        raise LookupError(f"README.md has no official-calls:{name} table")
    return found.group(1).strip()


def tables() -> dict[str, str]:
    """Each table as the tests' lists render it (needs both official packages)."""
    from tests.interop import (  # noqa: PLC0415
        test_official_google,
        test_official_yandex,
        test_official_yandex_batch_inference,
    )

    return {
        "google": render(test_official_google.table_rows()),
        "yandex": render([*test_official_yandex.ROWS, *test_official_yandex_batch_inference.ROWS]),
    }


if __name__ == "__main__":
    for name, table in tables().items():
        print(f"<!-- official-calls:{name} -->\n{table}\n<!-- /official-calls:{name} -->\n")
