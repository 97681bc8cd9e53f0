"""The released-contract check (`make breaking-baseline`) catches breaks and accepts no change.

Each test copies protos/ and buf.yaml into a scratch workspace, stages the googleapis imports
there, optionally plants a change, and runs tools/contract_baseline.sh against the committed
image contract/textgen-v1.binpb, as the make target does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "tools" / "node" / "node_modules" / ".bin" / "buf"
SCRIPT = ROOT / "tools" / "contract_baseline.sh"
BASELINE = ROOT / "contract" / "textgen-v1.binpb"
CITATION = Path("protos") / "textgen" / "v1" / "citation.proto"

pytestmark = pytest.mark.skipif(
    not BUF.exists(),
    reason=f"buf is not installed at {BUF.relative_to(ROOT)}; `make lint` installs it from npm",
)


@pytest.fixture(scope="module")
def staged_imports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The googleapis protos, staged once for the module by the same script `make` uses."""
    deps = tmp_path_factory.mktemp("protodeps")
    subprocess.run([sys.executable, str(ROOT / "tools" / "protodeps.py"), str(deps)], check=True)
    return deps


@pytest.fixture
def workspace(tmp_path: Path, staged_imports: Path) -> Path:
    """A copy of the buf workspace: buf.yaml, protos/ and .build/protodeps."""
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    shutil.copytree(staged_imports, tmp_path / ".build" / "protodeps")
    return tmp_path


def check(workspace: Path) -> subprocess.CompletedProcess[str]:
    """Run the baseline check on ``workspace`` and return its exit code and output."""
    return subprocess.run(
        ["bash", str(SCRIPT), "check", str(workspace)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "BUF": str(BUF)},
    )


def edit(path: Path, pattern: str, replacement: str) -> None:
    """Replace the single match of ``pattern`` in ``path``; fail if it is not there once."""
    text = path.read_text()
    new, count = re.subn(pattern, replacement, text, flags=re.M)
    assert count == 1, f"{pattern!r} matched {count} times in {path.name}; update this test"
    path.write_text(new)


def test_baseline_is_a_self_contained_image_of_the_contract() -> None:
    image = descriptor_pb2.FileDescriptorSet.FromString(BASELINE.read_bytes())
    names = {file.name for file in image.file}
    ours = {f"textgen/v1/{p.name}" for p in (ROOT / "protos" / "textgen" / "v1").glob("*.proto")}
    # Every released file is still in protos/ (deleting one is a break the check reports) ...
    assert {name for name in names if name.startswith("textgen/")} <= ours
    # ... and the imports travel with it, so the image can be read without googleapis.
    for file in image.file:
        assert set(file.dependency) <= names, file.name
    assert "google/longrunning/operations.proto" in names


def test_unchanged_protos_match_the_release(workspace: Path) -> None:
    result = check(workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compatible with the released contract" in result.stdout


def test_renumbered_field_is_reported(workspace: Path) -> None:
    edit(workspace / CITATION, r"(optional int32 end_index = )2\b", r"\g<1>7")
    result = check(workspace)
    assert result.returncode != 0
    assert (
        'Previously present field "2" with name "end_index" on message "CitationSource" '
        "was deleted." in result.stdout
    )
    assert "breaks the released contract" in result.stderr
    assert "make contract-release" in result.stderr


def test_deleted_field_is_reported(workspace: Path) -> None:
    edit(workspace / CITATION, r"^\s*optional string uri = 3 \[.*\];\n", "")
    result = check(workspace)
    assert result.returncode != 0
    assert (
        'Previously present field "3" with name "uri" on message "CitationSource" was deleted.'
        in result.stdout
    )


def test_an_addition_is_not_a_break(workspace: Path) -> None:
    edit(
        workspace / CITATION,
        r"^(message CitationSource \{\n)",
        r"\g<1>  // A field added after the release.\n  string added_later = 99;\n\n",
    )
    result = check(workspace)
    assert result.returncode == 0, result.stdout + result.stderr
