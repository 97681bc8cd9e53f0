"""The server's folders depend on each other one way, as docs/architecture.md draws them:
services -> jobs -> generation and lro -> validation -> names, over a base of shared modules
(rpc, storage, engine, state, clock) that imports none of them. The server imports neither
the client nor the fakes."""

from __future__ import annotations

import ast
from pathlib import Path

import textgen.server

SERVER = Path(textgen.server.__file__).resolve().parent
# Each upper layer of the server, by rank: a module may import only lower ranks (or its own
# folder, or the base). Anything not listed is the base, rank 0.
RANKS = {
    "names": 1,
    "validation": 2,
    "generation": 3,
    "lro": 3,
    "jobs": 4,
    "services": 5,
    "app": 6,
}
# What no server module may import: the client and the fakes.
FORBIDDEN = (
    "textgen.client",
    "textgen.resources",
    "textgen._calls",
    "textgen._shells",
    "textgen._transport",
    "textgen.operation",
    "textgen.errors",
    "textgen.testing",
)


def _part(module: str) -> str:
    # "textgen.server.jobs.batch" -> "jobs"; "textgen.server.state" -> "state".
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else ""


def _imports() -> list[tuple[str, str]]:
    """(importing module, imported module) for every textgen import in the server."""
    found: list[tuple[str, str]] = []
    for path in sorted(SERVER.rglob("*.py")):
        relative = path.relative_to(SERVER.parent).with_suffix("")
        module = "textgen." + ".".join(relative.parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found.extend((module, name) for name in names if name.startswith("textgen."))
    return found


def test_the_scan_sees_the_server() -> None:
    importers = {source for source, _ in _imports()}
    assert {"textgen.server.services.model_service", "textgen.server.jobs.batch"} <= importers


def test_each_folder_imports_only_lower_layers() -> None:
    upward = [
        f"{source} imports {target}"
        for source, target in _imports()
        if target.startswith("textgen.server.")
        for mine, theirs in [(_part(source), _part(target))]
        if mine != theirs and RANKS.get(theirs, 0) >= RANKS.get(mine, 0) and theirs in RANKS
    ]
    assert upward == []


def test_the_server_imports_no_client_and_no_fake() -> None:
    found = [
        f"{source} imports {target}"
        for source, target in _imports()
        if any(target == name or target.startswith(name + ".") for name in FORBIDDEN)
    ]
    assert found == []
