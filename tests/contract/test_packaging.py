"""What the sdist and the wheel carry, and that the installed package holds the whole contract.

The suite itself runs from the installed wheel in `make test` (tools/matrix.py); these tests
check the archives against the source tree, so a module, a stub or a .proto left out of the
package configuration fails here, in any environment.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import textgen.contract

ROOT = Path(__file__).resolve().parents[2]


def _tree(root: Path, pattern: str, prefix: str) -> set[str]:
    return {
        f"{prefix}/{path.relative_to(root).as_posix()}"
        for path in root.rglob(pattern)
        if "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and a wheel built from it, as `python -m build` makes them (no network)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (sdist,) = out.glob("textgen_grpc-*.tar.gz")
    (wheel,) = out.glob("textgen_grpc-*.whl")
    return sdist, wheel


def test_wheel_holds_every_module_stub_and_proto(dist: tuple[Path, Path]) -> None:
    names = set(zipfile.ZipFile(dist[1]).namelist())
    src, generated, protos = (
        ROOT / "src" / "textgen",
        ROOT / "generated" / "textgen",
        ROOT / "protos",
    )
    expected = (
        _tree(src, "*.py", "textgen")
        | _tree(src, "py.typed", "textgen")
        | _tree(src, "*.sql", "textgen")  # the storage migrations
        | _tree(generated, "*.py", "textgen")
        | _tree(generated, "*.pyi", "textgen")
        | _tree(protos / "textgen", "*.proto", "textgen/protos/textgen")
    )
    packaged = {name for name in names if name.startswith("textgen/")}
    assert expected - packaged == set(), "left out of the wheel"
    assert packaged - expected == set(), "in the wheel but not in the source tree"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(dist[1]).read(entry_points).decode()
    assert "textgen = textgen.cli:main" in text
    assert "textgen.testing.pytest_plugin" in text


def test_sdist_holds_both_source_roots_and_the_contract(dist: tuple[Path, Path]) -> None:
    with tarfile.open(dist[0]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for expected in (
        "LICENSE",
        "setup.py",
        "pyproject.toml",
        "src/textgen/cli/__init__.py",
        "generated/textgen/v1/model_service_pb2.pyi",
        "protos/textgen/v1/model_service.proto",
    ):
        assert expected in names


def test_generated_code_imports_from_the_wheel(dist: tuple[Path, Path]) -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import textgen, textgen.cli, textgen.testing.pytest_plugin;"
        "import textgen.v1.model_service_pb2 as m;"
        "print(textgen.__file__); print(m.__file__);"
        "print(m.GenerateTextRequest(model='models/text-bison-001').model)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(dist[1])],
        check=True,
        capture_output=True,
        text=True,
    )
    sdk, generated, model = result.stdout.split()
    assert sdk.startswith(str(dist[1])) and generated.startswith(str(dist[1]))
    assert model == "models/text-bison-001"


def test_proto_path_holds_the_whole_contract() -> None:
    """Installed or in a checkout, proto_path() is an include root with every contract file."""
    root = textgen.contract.proto_path()
    installed = {p.name for p in (root / "textgen" / "v1").glob("*.proto")}
    assert installed == {p.name for p in (ROOT / "protos" / "textgen" / "v1").glob("*.proto")}


def test_runtime_floors_are_what_the_suite_runs_on() -> None:
    """pyproject's floors for grpcio and protobuf are the versions installed in the project venv."""
    # make test's floor leg sets this; the project's .venv is pinned to the floors too.
    floor_leg = os.environ.get("TEXTGEN_DEPENDENCIES") == "floor"
    if not floor_leg and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("only meaningful where the floors are installed (.venv, make test's floor leg)")
    floors: dict[str, Version] = {}
    for line in importlib.metadata.requires("textgen-grpc") or []:
        requirement = Requirement(line)
        if requirement.name not in ("grpcio", "protobuf"):
            continue
        # A line can be limited to some Pythons (grpcio's floor is higher on 3.14); only the
        # lines this interpreter obeys count, and the highest floor among them wins.
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        for clause in requirement.specifier:
            if clause.operator == ">=":
                floor = Version(clause.version)
                floors[requirement.name] = max(floors.get(requirement.name, floor), floor)
    assert set(floors) == {"grpcio", "protobuf"}
    for package, declared in floors.items():
        assert Version(importlib.metadata.version(package)) == declared
