"""The README's example of the Yandex Cloud stubs runs as written (in the latest leg, where
yandexcloud is installed; tests/test_readme.py runs only ```python blocks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip(
    "yandex.cloud.operation.operation_service_pb2_grpc",
    reason="yandexcloud is installed (with --no-deps) in the latest leg only",
)

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "# The Yandex Cloud stubs against the emulator"


def test_the_readme_example_of_the_yandex_stubs_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"^```py\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    [example] = [block for block in blocks if block.startswith(MARKER)]
    exec(compile(example, "README.md (Yandex stubs)", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "1 of 1 batches"
    assert len(printed) == 3 and all(printed[1:])
