"""What the store keeps beside an operation for Yandex's shape: its description, when it was
created, and when it last changed (create, metadata updates and the end, by the server clock)."""

from __future__ import annotations

import pytest
from google.protobuf.empty_pb2 import Empty

from textgen.server.clock import MANUAL_EPOCH, ManualClock
from textgen.server.lro.operations import Operations
from textgen.server.rpc.errors import ServiceError
from textgen.server.storage import MemoryOperationStore

ALICE = "alice"


async def test_times_and_description_are_recorded() -> None:
    clock = ManualClock()
    operations = Operations(clock, MemoryOperationStore())
    await operations.create("operations/a", ALICE, Empty(), description="Batch completion")
    created = await operations.record("operations/a", ALICE)
    assert created.description == "Batch completion"
    assert created.created_at == created.modified_at == MANUAL_EPOCH

    await clock.advance(2.0)
    assert await operations.update_metadata("operations/a", Empty())
    updated = await operations.record("operations/a", ALICE)
    assert (updated.created_at, updated.modified_at) == (MANUAL_EPOCH, MANUAL_EPOCH + 2.0)

    await clock.advance(3.0)
    assert await operations.complete("operations/a", Empty())
    done = await operations.record("operations/a", ALICE, poll=True)
    assert done.operation.done
    assert (done.created_at, done.modified_at) == (MANUAL_EPOCH, MANUAL_EPOCH + 5.0)
    assert done.description == "Batch completion"


async def test_a_record_is_the_owners_only() -> None:
    operations = Operations(ManualClock(), MemoryOperationStore())
    await operations.create("operations/a", ALICE, Empty())
    with pytest.raises(ServiceError):
        await operations.record("operations/a", "bob")
    assert (await operations.record("operations/a", ALICE)).description == ""
