"""The command line's help formatter lays help out exactly as argparse's own does, at the same
width (COLUMNS, else the terminal's, else 80), without importing shutil to find it."""

from __future__ import annotations

import argparse

import pytest

from textgen.cli import HelpFormatter, build_parser


def _layout(formatter_class: type[argparse.HelpFormatter]) -> str:
    formatter = formatter_class(prog="textgen serve")
    formatter.add_usage("[--host HOST] " * 12, [], [])
    formatter.add_text("a word " * 40)
    return formatter.format_help()


@pytest.mark.parametrize("columns", ["40", "100", "", "not a number"])
def test_the_width_is_argparse_own(columns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert _layout(HelpFormatter) == _layout(argparse.HelpFormatter)


def test_serve_help_is_laid_out_by_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    help_text = build_parser("serve").format_help()
    assert all(len(line) <= 58 for line in help_text.splitlines())
