"""Fakes for tests: a deterministic engine, an in-process fake server, job pacing and a
pytest plugin.

`FakeServer`, `FakeEngine` and `Progression` are imported on first use, so importing this
package (as the pytest plugin does at start-up) stays cheap and free of import cycles with
the servers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textgen.testing.fake_engine.engine import FakeEngine
    from textgen.testing.fake_server import FakeServer
    from textgen.testing.pacing import Progression

__all__ = ["FakeEngine", "FakeServer", "Progression"]


def __getattr__(name: str) -> object:
    if name == "FakeServer":
        from textgen.testing.fake_server import FakeServer  # noqa: PLC0415

        return FakeServer
    if name == "FakeEngine":
        from textgen.testing.fake_engine.engine import FakeEngine  # noqa: PLC0415

        return FakeEngine
    if name == "Progression":
        from textgen.testing.pacing import Progression  # noqa: PLC0415

        return Progression
    raise AttributeError(f"module 'textgen.testing' has no attribute {name!r}")
