"""docs/architecture.md names only modules and files that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
# Where a relative file name in the page (`rpc/policy.py`, `fake_server.py`) may live.
PACKAGE = ROOT / "src" / "textgen"
BASES = (ROOT, PACKAGE, PACKAGE / "server", PACKAGE / "testing")


def _resolves(dotted: str) -> bool:
    # A module, or an attribute of the longest importable prefix.
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def test_every_dotted_name_resolves() -> None:
    names = set(re.findall(r"`(textgen(?:\.\w+)+)", ARCHITECTURE))
    assert names, "the page names no module"
    assert sorted(name for name in names if not _resolves(name)) == []


def test_every_file_and_folder_exists() -> None:
    paths = set(re.findall(r"`([\w./-]+(?:\.py|/))`", ARCHITECTURE))
    assert paths, "the page names no file"
    missing = sorted(path for path in paths if not any((base / path).exists() for base in BASES))
    assert missing == []
