"""Run the suite on both ends of what the package supports, from the built wheel, in parallel.

Usage: python tools/matrix.py --wheel DIST/textgen_grpc-*.whl [--only LEG ...]

Legs, each in its own fresh virtualenv under .build/legs/:

- floor:  the oldest Python found, with requirements/constraints.txt (the declared floors of
          grpcio, protobuf and googleapis-common-protos); runs pytest.
- latest: the newest Python found, with the newest release of every dependency and the
          official upstream clients of requirements/interop.txt; runs mypy --strict (the
          newest typing stubs) and pytest.
- wheel:  tools/wheel_smoke/run.py, the wheel alone and then with [server,cli], on the newest
          Python.

Both pytest legs import the installed wheel, not src/, so they test what users install. Each
leg's full output goes to .build/legs/<leg>.log; the summary names the versions each leg ran.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEGS_DIR = ROOT / ".build" / "legs"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
INTEROP = ROOT / "requirements" / "interop.txt"
EXTRAS = "dev,server,cli,postgres"
MIN_PYTHON = (3, 10)
SHOWN = re.compile(
    r"^(grpcio|grpcio-status|grpcio-health-checking|grpcio-reflection|protobuf|"
    r"googleapis-common-protos|pytest|pytest-asyncio|mypy|types-protobuf|types-grpcio|"
    r"google-ai-generativelanguage|google-api-core|yandexcloud|psycopg|psycopg-pool)==",
    re.IGNORECASE,
)


@dataclass
class Leg:
    """One environment and the commands run in it."""

    name: str
    python: Path
    install: list[str]  # pip arguments
    commands: list[list[str]]  # {python} stands for the leg's interpreter
    env: dict[str, str] = field(default_factory=dict)
    venv: bool = True
    # Installed after `install` without their dependencies (packages whose pins are narrower
    # than what their code needs, such as yandexcloud's protobuf<7).
    no_deps: list[str] = field(default_factory=list)
    status: int | None = None
    seconds: float = 0.0
    versions: str = ""
    summary: str = ""

    @property
    def log(self) -> Path:
        return LEGS_DIR / f"{self.name}.log"


def find_pythons() -> dict[tuple[int, int], Path]:
    """Every CPython >= 3.10 on this machine: pyenv's versions and python3.X on PATH."""
    found: dict[tuple[int, int], Path] = {}
    candidates: list[Path] = []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted((pyenv_root / "versions").glob("*/bin/python3"))
    for minor in range(MIN_PYTHON[1], 20):
        which = shutil.which(f"python3.{minor}")
        if which:
            candidates.append(Path(which))
    candidates.append(Path(sys.executable))
    for candidate in candidates:
        probe = subprocess.run(
            [str(candidate), "-c", "import sys, venv; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            continue
        major, minor = (int(part) for part in probe.stdout.split())
        if (major, minor) >= MIN_PYTHON:
            found.setdefault((major, minor), candidate)
    return found


def plan(wheel: Path) -> list[Leg]:
    pythons = find_pythons()
    oldest, newest = min(pythons), max(pythons)
    for label, version in (("oldest", oldest), ("newest", newest)):
        print(f"matrix: {label} Python is {version[0]}.{version[1]} ({pythons[version]})")
    if oldest == newest:
        print(f"matrix: only Python {oldest[0]}.{oldest[1]} is installed; both legs use it")
    requirement = f"{wheel}[{EXTRAS}]"
    pytest = ["{python}", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return [
        Leg(
            "floor",
            pythons[oldest],
            ["-c", str(CONSTRAINTS), requirement],
            [pytest],
            env={"TEXTGEN_DEPENDENCIES": "floor"},
        ),
        Leg(
            "latest",
            pythons[newest],
            ["--upgrade", "--upgrade-strategy", "eager", requirement, "-r", str(INTEROP)],
            [["{python}", "-m", "mypy"], pytest],
            env={"TEXTGEN_DEPENDENCIES": "latest"},
            # The yandexcloud stubs for tests/interop: the package pins protobuf<7, but its
            # generated code runs on protobuf 7. Yandex's ML SDK depends on it, so it comes
            # the same way (its other dependencies are in requirements/interop.txt).
            no_deps=["yandexcloud", "yandex-cloud-ml-sdk", "yandex-ai-studio-sdk"],
        ),
        Leg(
            "wheel",
            pythons[newest],
            [],
            [
                [
                    "{python}",
                    str(ROOT / "tools" / "wheel_smoke" / "run.py"),
                    "--python",
                    str(pythons[newest]),
                    "--wheel",
                    str(wheel),
                    "--dir",
                    str(LEGS_DIR / "wheel"),
                ]
            ],
            venv=False,
        ),
    ]


def run_leg(leg: Leg) -> None:
    started = time.monotonic()
    env = {**os.environ, **leg.env}
    env.pop("VIRTUAL_ENV", None)
    with leg.log.open("w") as log:

        def step(command: Sequence[str]) -> int:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            return subprocess.run(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, check=False
            ).returncode

        python = leg.python
        status = 0
        if leg.venv:
            home = LEGS_DIR / leg.name
            if home.exists():
                shutil.rmtree(home)
            status = step([str(leg.python), "-m", "venv", str(home)])
            python = home / "bin" / "python"
            pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
            status = status or step([*pip, "install", "--upgrade", "pip"])
            status = status or step([*pip, "install", *leg.install])
            if leg.no_deps:
                status = status or step([*pip, "install", "--no-deps", *leg.no_deps])
            # The wheel under test, whatever pip thought of its version number.
            reinstall = [*pip, "install", "--force-reinstall", "--no-deps", _wheel(leg)]
            status = status or step(reinstall)
            if status == 0:
                frozen = subprocess.run(
                    [*pip, "freeze"], capture_output=True, text=True, check=False
                ).stdout
                leg.versions = ", ".join(line for line in frozen.splitlines() if SHOWN.match(line))
        for command in leg.commands:
            if status:
                break
            status = step([str(python) if part == "{python}" else part for part in command])
    leg.status = status
    leg.seconds = time.monotonic() - started
    text = leg.log.read_text(errors="replace")
    summaries = re.findall(r"^=*\s*(\d+ passed.*?|\d+ failed.*?)\s*=*$", text, re.MULTILINE)
    leg.summary = summaries[-1] if summaries else ""
    if not leg.summary:
        smoke = re.findall(r"^wheel smoke test .*$", text, re.MULTILINE)
        leg.summary = smoke[-1] if smoke else ""


def _wheel(leg: Leg) -> str:
    for argument in leg.install:
        if argument.endswith(f"[{EXTRAS}]"):
            return argument.removesuffix(f"[{EXTRAS}]")
    raise ValueError(f"leg {leg.name} installs no wheel")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", required=True, type=Path)
    parser.add_argument("--only", action="append", choices=("floor", "latest", "wheel"))
    args = parser.parse_args(argv)
    LEGS_DIR.mkdir(parents=True, exist_ok=True)
    legs = [leg for leg in plan(args.wheel.resolve()) if not args.only or leg.name in args.only]
    started = time.monotonic()
    threads = [threading.Thread(target=run_leg, args=(leg,)) for leg in legs]
    for leg, thread in zip(legs, threads, strict=True):
        print(f"matrix: {leg.name} started (log: {leg.log.relative_to(ROOT)})", flush=True)
        thread.start()
    for leg, thread in zip(legs, threads, strict=True):
        thread.join()
        print(
            f"matrix: {leg.name} {'passed' if leg.status == 0 else 'FAILED'} in "
            f"{leg.seconds:.0f} s on {leg.python}: {leg.summary}",
            flush=True,
        )
        if leg.versions:
            print(f"    {leg.versions}", flush=True)
    passed = failed = 0
    for leg in legs:
        if leg.status:
            print(f"\n--- last lines of {leg.log.relative_to(ROOT)}", flush=True)
            print("\n".join(leg.log.read_text(errors="replace").splitlines()[-60:]), flush=True)
        counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed)", leg.summary)}
        passed += counts.get("passed", 0)
        # A leg that failed without a pytest failure (an install, mypy, the smoke test) counts.
        failed += counts.get("failed", 0) or (1 if leg.status else 0)
    print(f"matrix: every leg done in {time.monotonic() - started:.0f} s", flush=True)
    print(f"matrix: {passed} passed, {failed} failed", flush=True)
    return 0 if all(leg.status == 0 for leg in legs) else 1


if __name__ == "__main__":
    sys.exit(main())
