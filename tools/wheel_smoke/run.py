"""Install the built wheel into a fresh virtualenv, as a user would, and try what users do.

Usage: python tools/wheel_smoke/run.py --python PYTHON --wheel DIST/textgen_grpc-*.whl --dir DIR

First with the wheel alone (no extras): every module imports, a client calls a FakeServer, the
command line answers --help and prints one-line errors for what needs an extra, an unrelated
test suite still runs under pytest, and the plugin's fixtures work (sync always; async with
pytest-asyncio in strict and auto mode, and without it a failure that says what to install).
Then with `[server,cli]`: `textgen serve` answers health checks and the CLI, and stops on
SIGTERM. Nothing here imports the project's source tree: the suites run from a copy in DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "models/text-bison-001"


# Reads a model over HTTP/JSON and prints its name.
_HTTP_PROBE = """
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as reply:
    print(json.load(reply)["name"])
"""

# Imports each module named on the command line; prints, as JSON, those that failed and why:
# "extra <name>" when the missing module is one an extra installs, the error otherwise.
_IMPORT_PROBE = """
import importlib, json, sys
from textgen._extras import EXTRAS
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        top = (error.name or "").partition(".")[0]
        failed[name] = f"extra {EXTRAS[top]}" if top in EXTRAS else repr(error)
    except Exception as error:
        failed[name] = repr(error)
print(json.dumps(failed))
"""


class SmokeError(AssertionError):
    """A check failed; the message says which and shows the output."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--wheel", required=True, type=Path)
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    smoke = Smoke(Path(args.python), args.wheel.resolve(), args.dir.resolve())
    try:
        smoke.base_install()
        smoke.with_extras()
    except SmokeError as error:
        print(f"wheel smoke test FAILED: {error}", flush=True)
        return 1
    print(f"wheel smoke test passed: {smoke.checks} checks", flush=True)
    return 0


class Smoke:
    """One fresh virtualenv and the checks run in it."""

    def __init__(self, python: Path, wheel: Path, workdir: Path) -> None:
        self.wheel = wheel
        self.workdir = workdir
        self.checks = 0
        # Modules that import only with an extra installed (found without extras).
        self.needs_extras: list[str] = []
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        self.env_dir = workdir / "venv"
        subprocess.run([str(python), "-m", "venv", str(self.env_dir)], check=True)
        bin_dir = "Scripts" if os.name == "nt" else "bin"
        self.python = self.env_dir / bin_dir / "python"
        self.textgen = self.env_dir / bin_dir / "textgen"
        # The suites run from a copy outside the project, with their own pytest.ini.
        for suite in ("plugin_suite", "unrelated_suite"):
            shutil.copytree(HERE / suite, workdir / suite)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTGEN_")}
        self.env.pop("PYTHONPATH", None)

    # --- the phases ------------------------------------------------------------------------------

    def base_install(self) -> None:
        """The wheel alone, plus pytest to run outside suites."""
        self.pip("install", str(self.wheel))
        self.pip("install", "pytest")
        self.import_every_module()
        self.client_calls_a_fake_server()
        self.cli_without_extras()
        self.pytest_runs("unrelated_suite", expect_passed=1)
        self.pytest_runs(
            "plugin_suite",
            "test_sync.py",
            "test_strict.py",
            expect_passed=2,
            expect_errors=1,
            expect_text="needs pytest-asyncio: pip install pytest-asyncio",
        )
        self.pip("install", "pytest-asyncio")
        self.pytest_runs("plugin_suite", "test_sync.py", "test_strict.py", expect_passed=3)
        self.pytest_runs("plugin_suite", "-o", "asyncio_mode=auto", expect_passed=4)

    def with_extras(self) -> None:
        """The same wheel with every extra."""
        self.pip("install", f"{self.wheel}[server,cli,http,postgres]")
        self.import_extra_modules()
        self.serve_answers()
        self.pytest_runs("unrelated_suite", expect_passed=1)
        self.pytest_runs("plugin_suite", "test_sync.py", "test_strict.py", expect_passed=3)

    # --- checks ----------------------------------------------------------------------------------

    def module_names(self) -> list[str]:
        return sorted(
            name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            for name in zipfile.ZipFile(self.wheel).namelist()
            if name.startswith("textgen/") and name.endswith(".py")
        )

    def import_every_module(self) -> None:
        """Every module imports without extras, except the few that implement an extra
        (the HTTP server, the PostgreSQL store): those may fail only for want of a module
        textgen._extras maps to an extra, so users get the pip line that fixes it."""
        names = self.module_names()
        result = self.run([str(self.python), "-c", _IMPORT_PROBE, *names], timeout=120)
        self.expect(result.returncode == 0, "python import probe", result)
        needing = json.loads(result.stdout)
        self.needs_extras = sorted(needing)
        bad = {name: why for name, why in needing.items() if not why.startswith("extra ")}
        self.expect(not bad, f"modules that fail to import without extras: {bad}", result)
        packages = {name for name in names if not name.rsplit(".", 1)[-1].startswith("_")}
        self.passed(
            f"imported {len(names) - len(needing)} of {len(names)} modules ({len(packages)} "
            f"public) with no extras; the rest need an extra: {needing}"
        )

    def import_extra_modules(self) -> None:
        """With the extras installed, the modules that needed them import too."""
        probe = "import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)"
        self.run_python(probe, *self.needs_extras)
        self.passed(f"with the extras, imported {', '.join(self.needs_extras) or 'nothing more'}")

    def client_calls_a_fake_server(self) -> None:
        probe = f"""
import asyncio
import textgen
from textgen.testing import FakeServer

with FakeServer() as fake, textgen.Client(fake.target) as client:
    assert client.models.generate_text("{MODEL}", "Say hello").text

async def main():
    async with FakeServer() as fake, textgen.AsyncClient(fake.target) as client:
        assert (await client.models.get("{MODEL}")).name == "{MODEL}"

asyncio.run(main())
"""
        self.run_python(probe)
        self.passed("sync and async clients called a FakeServer")

    def cli_without_extras(self) -> None:
        result = self.run([str(self.textgen), "--help"])
        self.expect(result.returncode == 0 and "serve" in result.stdout, "textgen --help", result)
        for command, extra in (
            ([str(self.textgen), "--target", "127.0.0.1:1", "generate", MODEL, "hi"], "cli"),
            ([str(self.textgen), "serve", "--port", "0"], "server"),
        ):
            result = self.run(command, timeout=60)
            line = f"pip install 'textgen-grpc[{extra}]'"
            self.expect(
                result.returncode == 2
                and line in result.stderr
                and "Traceback" not in result.stderr
                and len(result.stderr.strip().splitlines()) == 1,
                f"{' '.join(command[1:])} without the {extra} extra prints one line",
                result,
            )
        self.passed("the CLI answers --help and names the missing extra in one line")

    def serve_answers(self) -> None:
        process = subprocess.Popen(
            [
                str(self.textgen),
                "serve",
                "--port",
                "0",
                "--host",
                "127.0.0.1",
                "--http-port",
                "0",
                "--store",
                f"sqlite:///{self.workdir / 'state.db'}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            match = re.search(r"listening on (\S+)", line)
            if match is None:
                process.kill()
                _, err = process.communicate(timeout=10)
                raise SmokeError(f"textgen serve did not start: {line!r}\n{err}")
            target = match.group(1)
            http = re.search(r"HTTP/JSON on (\S+)", process.stdout.readline())
            if http is None:
                raise SmokeError("textgen serve --http-port 0 printed no HTTP address")
            fetched = self.run(
                [str(self.python), "-c", _HTTP_PROBE, f"{http.group(1)}/v1/{MODEL}"], timeout=60
            )
            self.expect(
                fetched.returncode == 0 and fetched.stdout.strip() == MODEL, "HTTP GET", fetched
            )
            result = self.run([str(self.textgen), "--target", target, "generate", MODEL, "Hi"])
            self.expect(result.returncode == 0 and result.stdout.strip(), "CLI generate", result)
            health = f"""
import grpc
from grpc_health.v1 import health_pb2
with grpc.insecure_channel("{target}") as channel:
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    reply = check(health_pb2.HealthCheckRequest(service="textgen.v1.ModelService"), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING, reply
"""
            self.run_python(health)
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
            if code != 0:
                raise SmokeError(f"textgen serve exited {code} on SIGTERM")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if not (self.workdir / "state.db").exists():
            raise SmokeError("textgen serve --store sqlite:/// made no database file")
        self.passed(
            "textgen serve on a SQLite store answered HTTP/JSON, the CLI and a health check, "
            "then stopped on SIGTERM"
        )

    def pytest_runs(
        self,
        suite: str,
        *args: str,
        expect_passed: int,
        expect_errors: int = 0,
        expect_text: str = "",
    ) -> None:
        command = [str(self.python), "-m", "pytest", "-q", *args]
        result = self.run(command, cwd=self.workdir / suite, timeout=300)
        counts = dict(
            (word, int(number))
            for number, word in re.findall(r"(\d+) (passed|failed|errors?)", result.stdout)
        )
        errors = counts.get("error", 0) + counts.get("errors", 0)
        ok = (
            counts.get("passed", 0) == expect_passed
            and counts.get("failed", 0) == 0
            and errors == expect_errors
            and expect_text in result.stdout
            and "INTERNALERROR" not in result.stdout + result.stderr
        )
        self.expect(ok, f"pytest {suite} {' '.join(args)}", result)
        self.passed(f"pytest {suite} {' '.join(args)}: {counts}")

    # --- plumbing --------------------------------------------------------------------------------

    def pip(self, *args: str) -> None:
        command = [str(self.python), "-m", "pip", "--disable-pip-version-check", "-q", *args]
        result = self.run(command, timeout=600)
        self.expect(result.returncode == 0, f"pip {' '.join(args)}", result)

    def run_python(self, code: str, *args: str) -> None:
        result = self.run([str(self.python), "-c", code, *args], timeout=120)
        self.expect(result.returncode == 0, "python probe", result)

    def run(
        self, command: list[str], *, cwd: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=cwd or self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            check=False,
        )

    def expect(self, ok: object, what: str, result: subprocess.CompletedProcess[str]) -> None:
        if not ok:
            raise SmokeError(
                f"{what}: exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
                f"\n--- stderr\n{result.stderr[-4000:]}"
            )

    def passed(self, what: str) -> None:
        self.checks += 1
        print(f"  ok  {what}", flush=True)


if __name__ == "__main__":
    started = time.monotonic()
    status = main()
    print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
    sys.exit(status)
