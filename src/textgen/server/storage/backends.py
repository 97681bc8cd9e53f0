"""Store URLs: where a server keeps its state, opened as one Backend.

- `memory:` (the default): in this process only, lost when it ends.
- `sqlite:///path/to/file.db` (or `sqlite:relative.db`): one file, one server process.
- `postgresql://user@host:port/db` (any libpq URL; `postgres://` too): one database shared
  by any number of replicas. Needs the `postgres` extra.

Opening a durable backend connects and applies the schema's pending migrations
(textgen.server.storage.migrations) before anything is served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from textgen._extras import missing_extra
from textgen.server.storage import Stores

if TYPE_CHECKING:
    # Only a type here: the job ledger is loaded with a durable store.
    from textgen.server.storage.ledger import JobLedger

MEMORY = "memory:"


class StoreUrlError(ValueError):
    """A store URL this server cannot open (its message says why)."""


class Backend:
    """Opened stores, what kind of database holds them, and how to close it."""

    __slots__ = ("_close", "database", "kind", "ledger", "stores", "url")

    def __init__(
        self,
        url: str,
        kind: str,
        stores: Stores,
        database: object | None,
        _close: Callable[[], Awaitable[None]] | None = None,
        ledger: JobLedger | None = None,
    ) -> None:
        self.url = url
        self.kind = kind  # "memory", "sqlite" or "postgres"
        self.stores = stores
        self.database = database
        self._close = _close
        # The work behind running operations, on a durable store
        # (textgen.server.storage.ledger).
        self.ledger = ledger

    @property
    def durable(self) -> bool:
        """Whether what is stored outlives the process."""
        return self.kind != "memory"

    @property
    def shared(self) -> bool:
        """Whether several server processes may use it at once."""
        return self.kind == "postgres"

    async def close(self) -> None:
        """Release the database connections (nothing for memory)."""
        if self._close is not None:
            await self._close()


def kind_of(url: str) -> str:
    """The kind of store a URL names; StoreUrlError for one this server does not know."""
    scheme = url.partition(":")[0].lower()
    if scheme == "memory" and url.rstrip("/") in ("memory:", "memory"):
        return "memory"
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    raise StoreUrlError(
        f"unknown store URL {url!r}: use memory:, sqlite:///path/to/file.db or "
        "postgresql://user@host:port/database"
    )


def sqlite_path(url: str) -> str:
    """The file a `sqlite:` URL names."""
    parsed = urlparse(url)
    if parsed.netloc:
        raise StoreUrlError(f"{url!r}: a sqlite URL names a file, sqlite:///path/to/file.db")
    if not parsed.path:
        raise StoreUrlError(f"{url!r} names no file")
    return parsed.path


async def open_backend(url: str = MEMORY) -> Backend:
    """Open the stores a URL names (see the module docstring)."""
    kind = kind_of(url)
    if kind == "memory":
        return Backend(url, kind, Stores(), None)
    if kind == "sqlite":
        from textgen.server.storage.sqlite import (  # noqa: PLC0415
            SqliteDatabase,
            SqliteDatasetStore,
            SqliteOperationStore,
            SqliteTunedModelStore,
        )
        from textgen.server.storage.sqlite_ledger import SqliteJobLedger  # noqa: PLC0415

        lite = SqliteDatabase(sqlite_path(url))
        await lite.open()
        stores = Stores(
            SqliteOperationStore(lite), SqliteTunedModelStore(lite), SqliteDatasetStore(lite)
        )
        return Backend(url, kind, stores, lite, lite.close, SqliteJobLedger(lite))
    try:
        from textgen.server.storage.postgres import (  # noqa: PLC0415
            PostgresDatabase,
            PostgresDatasetStore,
            PostgresOperationStore,
            PostgresTunedModelStore,
        )
        from textgen.server.storage.postgres_ledger import PostgresJobLedger  # noqa: PLC0415
    except ImportError as error:
        raise missing_extra(error, "A PostgreSQL store") or error from None
    conninfo = "postgresql" + url[url.index(":") :]
    pg = PostgresDatabase(conninfo)
    await pg.open()
    stores = Stores(
        PostgresOperationStore(pg), PostgresTunedModelStore(pg), PostgresDatasetStore(pg)
    )
    return Backend(url, kind, stores, pg, pg.close, PostgresJobLedger(pg))
