"""The operation store: every google.longrunning Operation of a server, with its owner.

Only the proto, its owner and the API flavour that created it are stored; what exists only
while this process runs the work (the task, the events that wake waiters) lives in
textgen.server.lro.operations.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from google.longrunning import operations_proto_pb2 as operations_pb2

from textgen.apis import TEXTGEN
from textgen.server.storage.table import NamedTable, Versioned

Operation = operations_pb2.Operation


class StoredOperation(NamedTuple):
    """What the store keeps: the operation, the principal that owns it, the API flavour
    (textgen.apis) of the call that created it, whose type URLs its payloads are packed with,
    and what Yandex's operation shape shows besides: when it was created and last changed
    (server clock seconds) and a short description of its work."""

    operation: Operation
    owner: str
    api: str = TEXTGEN
    created_at: float = 0.0
    modified_at: float = 0.0
    description: str = ""

    @property
    def name(self) -> str:
        """The operation's name, such as `operations/abc`."""
        return self.operation.name


class OperationStore(NamedTable[StoredOperation], Protocol):
    """Operations by name alone, since the server makes their ids (see
    textgen.server.storage.table for what is atomic)."""

    async def list(
        self,
        *,
        owner: str | None = None,
        prefix: str = "",
        done: bool | None = None,
        start: int = 0,
        limit: int | None = None,
    ) -> list[Versioned[StoredOperation]]:
        """Operations in creation order that match every filter given: owned by `owner`
        (None: anyone's), named with `prefix`, with `done` equal to the one given; then the
        `limit` matches (None: all) from match number `start` on."""
        ...
