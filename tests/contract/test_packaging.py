"""The generated code merges into the textgen package, in an editable install and in a wheel."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import textgen.v1
from packaging.requirements import Requirement
from packaging.version import Version

import textgen

ROOT = Path(__file__).resolve().parents[2]


def test_editable_install_merges_generated_code() -> None:
    assert Path(textgen.__file__).is_relative_to(ROOT / "src" / "textgen")
    assert Path(textgen.v1.__file__).is_relative_to(ROOT / "generated" / "textgen" / "v1")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("textgen_grpc-*.whl")
    return built


def test_wheel_contains_sdk_and_generated_code(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "textgen/__init__.py",
        "textgen/py.typed",
        "textgen/v1/__init__.py",
        "textgen/v1/model_service_pb2.py",
        "textgen/v1/model_service_pb2.pyi",
        "textgen/v1/model_service_pb2_grpc.py",
        "textgen/v1/text_generation_batch_service_pb2.py",
    ):
        assert expected in names


def test_generated_code_imports_from_the_wheel(wheel: Path) -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import textgen, textgen.v1.tuned_model_service_pb2_grpc;"
        "import textgen.v1.model_service_pb2 as m;"
        "print(textgen.__file__); print(m.__file__);"
        "print(m.GenerateTextRequest(model='models/text-bison-001').model)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(wheel)], check=True, capture_output=True, text=True
    )
    sdk, generated, model = result.stdout.split()
    assert sdk.startswith(str(wheel)) and generated.startswith(str(wheel))
    assert model == "models/text-bison-001"


def test_runtime_floors_are_what_the_suite_runs_on() -> None:
    """pyproject's floors for grpcio and protobuf are the versions installed in the project venv."""
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("only meaningful inside the project virtualenv built by make")
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
