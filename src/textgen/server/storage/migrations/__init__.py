"""Versioned schema migrations: numbered SQL files, applied in order at start, under a lock.

Each dialect has a folder (`sqlite/`, `postgres/`) of files named `NNNN_what.sql`. A database
records the migrations it has in `schema_version` (one row per applied file). `pending` says
which files a database still lacks; the SQLite and PostgreSQL stores apply them in one
transaction that first takes a lock (SQLite: BEGIN EXCLUSIVE; PostgreSQL: an advisory
transaction lock), so two servers starting at once on one database apply each file once.

A file, once released, is never edited: a schema change is a new file with the next number.
A database whose newest version is above the newest file this code knows was migrated by a
newer release; opening it is refused (SchemaTooNewError) rather than risking its data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
DIALECTS = ("sqlite", "postgres")

# The table that records what was applied; the same in every dialect.
VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer release than this one: upgrade the server."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file's statements, split at semicolons that end a line (the files keep to
        that: no semicolon ends a line inside a statement)."""
        parts = re.split(r";\s*$", self.sql, flags=re.MULTILINE)
        lines = (
            "\n".join(line for line in part.splitlines() if not line.strip().startswith("--"))
            for part in parts
        )
        return [text.strip() for text in lines if text.strip()]


def migrations(dialect: str) -> list[Migration]:
    """Every migration of `dialect`, oldest first."""
    if dialect not in DIALECTS:
        raise ValueError(f"no migrations for {dialect!r}")
    found: list[Migration] = []
    for entry in resources.files(__package__).joinpath(dialect).iterdir():
        match = _FILE.match(entry.name)
        if match is not None:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text("utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{dialect} migrations must be numbered 1, 2, 3...: {versions}")
    return found


def pending(dialect: str, applied: int | None) -> list[Migration]:
    """What a database at version `applied` (None: empty) still needs, oldest first."""
    known = migrations(dialect)
    current = applied or 0
    if current > len(known):
        raise SchemaTooNewError(
            f"the database is at schema version {current}, newer than this server's "
            f"{len(known)}: run a newer release"
        )
    return known[current:]
