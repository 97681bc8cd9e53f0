"""Generate the Python, gRPC and typing code for ``protos/`` into a directory.

``make generate`` writes into ``generated/``; ``make check-generated`` writes into a scratch
directory and compares. Both use the grpcio-tools and mypy-protobuf pinned in
``requirements/constraints.txt``, so the output is the same on every machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
BIN = Path(sys.executable).parent


def generate(out: Path, deps: Path) -> None:
    """Run protoc with the Python, gRPC and mypy plugins over every file in ``protos/``."""
    files = sorted(p.relative_to(PROTOS).as_posix() for p in PROTOS.rglob("*.proto"))
    wkt = Path(next(iter(grpc_tools.__path__))) / "_proto"
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{deps}",
        f"-I{wkt}",
        f"--plugin=protoc-gen-mypy={BIN / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={BIN / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # protoc writes modules only; each generated directory becomes a regular package.
    for directory in {p.parent for p in out.rglob("*_pb2.py")}:
        (directory / "__init__.py").write_text(
            '"""Generated from protos/; run `make generate` instead of editing."""\n'
        )


if __name__ == "__main__":
    generate(Path(sys.argv[1]), Path(sys.argv[2]))
