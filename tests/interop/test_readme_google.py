"""The README's example of Google's official client runs as written (in the latest leg, where
google-ai-generativelanguage is installed; tests/test_readme.py runs only ```python blocks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip(
    "google.ai.generativelanguage_v1beta",
    reason="google-ai-generativelanguage is installed in the latest leg only (protobuf 6.33+)",
)

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "# Google's official client against the emulator"


def test_the_readme_example_of_the_official_client_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocks = re.findall(r"^```py\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    [example] = [block for block in blocks if block.startswith(MARKER)]
    exec(compile(example, "README.md (Google's official client)", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"tunedModels/roman ACTIVE [1-9]\d*", printed[-1])
    assert printed[0]
