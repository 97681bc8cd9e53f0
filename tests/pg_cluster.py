"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl in a temporary directory,
listening only on a unix socket there, stopped and removed at the end of the session.

The binaries come from PATH or Debian's /usr/lib/postgresql/<version>/bin (the `postgresql`
package; .ci/run installs it when initdb is missing). PostgreSQL refuses to run as root, so
under root the cluster runs as the `postgres` user (the package creates it). Without
initdb, or without psycopg, the tests that need the cluster skip, saying why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PORT = 5432  # only names the socket file; nothing listens on TCP


def find_binary(name: str) -> str | None:
    """`name` on PATH, else in the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    return str(candidates[-1]) if candidates else None


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its directory and how to reach it."""

    directory: Path
    user: str

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for `database` over the cluster's socket."""
        return f"postgresql://{self.user}@/{database}?host={quote(str(self.directory))}&port={PORT}"


def _as_user() -> tuple[list[str], str, int | None, int | None]:
    # The command prefix, the database user, and the uid/gid that own the files.
    if os.geteuid() != 0:
        return [], pwd.getpwuid(os.geteuid()).pw_name, None, None
    account = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], "postgres", account.pw_uid, account.pw_gid


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a cluster; stop it and delete its files afterwards."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise FileNotFoundError("initdb and pg_ctl (the postgresql package) are not installed")
    prefix, user, uid, gid = _as_user()
    directory = Path(tempfile.mkdtemp(prefix="textgen-pg-"))
    if uid is not None and gid is not None:
        os.chown(directory, uid, gid)
    data = directory / "data"
    try:
        subprocess.run(
            [
                *prefix,
                initdb,
                "-D",
                str(data),
                "-U",
                user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
        )
        options = (
            f"-k {directory} -c listen_addresses='' -p {PORT} -F "
            "-c max_connections=200 -c shared_buffers=32MB"
        )
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(directory / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        try:
            yield Cluster(directory, user)
        finally:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                check=False,
                capture_output=True,
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def create_database(url: str, name: str) -> None:
    """Create database `name` (dropping one of that name first) through `url`."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
