"""Optional dependencies: which extra brings which module, and what to tell a user who lacks it.

The base install is the client, the in-process FakeServer and the pytest plugin. Extras add
the rest: `server` (gRPC health checking and reflection, for `textgen serve` and
`textgen.server.app.serve`), `cli` (rich, for the command line and progress bars) and `http`
(aiohttp, for HTTP/JSON beside gRPC: `--http-port`, `http_port=`).
`postgres` (psycopg 3 and its pool) lets a server keep its state in PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping

DISTRIBUTION = "textgen-grpc"

# Top-level module -> the extra that installs it.
EXTRAS: Mapping[str, str] = {
    "grpc_health": "server",
    "grpc_reflection": "server",
    "rich": "cli",
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "aiohttp": "http",
}


class MissingExtraError(ImportError):
    """A feature needs an optional dependency that is not installed; the message says which."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra: pip install '{DISTRIBUTION}[{extra}]'",
            name=module,
        )
        self.extra = extra


def missing_extra(error: ImportError, feature: str) -> MissingExtraError | None:
    """The MissingExtraError that explains `error`, or None if no extra provides its module."""
    if isinstance(error, MissingExtraError):
        return error
    module = (error.name or "").partition(".")[0]
    extra = EXTRAS.get(module)
    return MissingExtraError(feature, extra, module) if extra is not None else None
