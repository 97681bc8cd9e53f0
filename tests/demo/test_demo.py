"""`make demo` end to end: the tour runs in-process and shows every capability."""

from __future__ import annotations

import pytest

from textgen import demo


def test_demo_tour(capsys: pytest.CaptureFixture[str]) -> None:
    # Shorter jobs than `make demo`, so the suite stays quick; the tour is otherwise the same.
    assert demo.main(job_seconds=1.0) == 0
    out = capsys.readouterr().out
    for title in ("Models", "Generate", "Stream", "Chat", "Embeddings", "Tuning", "Batch"):
        assert title in out
    assert "tunedModels/roman-numerals('III') -> IV" in out
    assert "tunedModels/roman-numerals is ACTIVE" in out
    assert "batch completed: 299 completions, 1 failed" in out
    assert "InvalidArgument INVALID_ARGUMENT" in out
    assert "  field temperature: must be between 0 and 1" in out
    assert "tour finished in" in out
    # Off a terminal each progress bar is printed once, finished, not redrawn line by line.
    assert out.count("24/24") == 1
    assert out.count("15/15") == 1
    assert "Traceback" not in out
