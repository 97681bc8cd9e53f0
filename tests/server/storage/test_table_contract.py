"""What every store promises, for each kind of record: create-if-absent, compare-and-set,
delete, listing order and filters, and copies in and out."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from textgen.v1 import dataset_pb2

from tests.server.storage.conftest import Kind
from textgen.server.storage import (
    FIRST_VERSION,
    ConcurrentUpdateError,
    DatasetRecord,
    Stores,
    Versioned,
    modify,
)
from textgen.server.storage.table import MODIFY_ATTEMPTS, Table


async def test_create_if_absent(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "one"
    assert await table.create(kind.make(name, "alice"))
    assert not await table.create(kind.relabel(kind.make(name, "bob"), "second"))
    found = await table.get(name)
    assert found is not None
    assert found.version == FIRST_VERSION
    assert found.record.owner == "alice" and kind.label(found.record) == "first"


async def test_concurrent_creates_of_one_name_have_one_winner(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "contested"
    contenders = [kind.make(name, f"user-{number}") for number in range(40)]
    won = await asyncio.gather(*(table.create(record) for record in contenders))
    assert won.count(True) == 1
    winner = contenders[won.index(True)]
    found = await table.get(name)
    assert found is not None and found.record.owner == winner.owner


async def test_get_missing_is_none(stores: Stores, kind: Kind) -> None:
    assert await kind.table(stores).get(kind.prefix + "none") is None


async def test_update_compares_the_version(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "cas"
    await table.create(kind.make(name, "alice"))
    first = await table.get(name)
    assert first is not None
    second_version = await table.update(kind.relabel(first.record, "second"), first.version)
    assert second_version is not None and second_version > first.version
    # A writer still holding the first version loses, and changes nothing.
    assert await table.update(kind.relabel(first.record, "stale"), first.version) is None
    found = await table.get(name)
    assert found is not None
    assert (kind.label(found.record), found.version) == ("second", second_version)


async def test_update_of_a_missing_record_is_none(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    assert await table.update(kind.make(kind.prefix + "none", "alice"), FIRST_VERSION) is None
    assert await table.get(kind.prefix + "none") is None


async def test_concurrent_updates_from_one_version_have_one_winner(
    stores: Stores, kind: Kind
) -> None:
    table = kind.table(stores)
    name = kind.prefix + "race"
    await table.create(kind.make(name, "alice"))
    base = await table.get(name)
    assert base is not None
    labels = [f"writer-{number}" for number in range(20)]
    versions = await asyncio.gather(
        *(table.update(kind.relabel(base.record, label), base.version) for label in labels)
    )
    winners = [label for label, version in zip(labels, versions, strict=True) if version]
    assert len(winners) == 1
    found = await table.get(name)
    assert found is not None and kind.label(found.record) == winners[0]


async def test_modify_loses_no_update(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "counter"
    await table.create(kind.relabel(kind.make(name, "alice"), "0"))

    async def increment() -> None:
        await modify(
            table, name, lambda record: kind.relabel(record, str(int(kind.label(record)) + 1))
        )

    await asyncio.gather(*(increment() for _ in range(25)))
    found = await table.get(name)
    assert found is not None and kind.label(found.record) == "25"


async def test_modify_without_change_or_record(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "same"
    assert await modify(table, name, lambda record: record) is None  # missing
    await table.create(kind.make(name, "alice"))
    unchanged = await modify(table, name, lambda record: None)
    assert unchanged is not None and unchanged.version == FIRST_VERSION


async def test_delete(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "gone"
    await table.create(kind.make(name, "alice"))
    assert await table.delete(name)
    assert not await table.delete(name)
    assert await table.get(name) is None
    assert await table.create(kind.make(name, "bob"))  # the name is free again


async def test_clear(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    for number in range(3):
        await table.create(kind.make(f"{kind.prefix}{number}", "alice"))
    await stores.clear()
    assert await table.list() == []


def _names(found: list[Any]) -> list[str]:
    return [versioned.record.name for versioned in found]


async def test_listing_in_creation_order_with_filters(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    created = []
    for number in (5, 3, 9, 1, 7, 2):
        name = f"{kind.prefix}item-{number}"
        owner = "alice" if number % 2 else "bob"
        await table.create(kind.make(name, owner))
        created.append((name, owner))
    # An update keeps the record's place; a re-created name goes last.
    first = await table.get(created[0][0])
    assert first is not None
    await table.update(kind.relabel(first.record, "changed"), first.version)
    await table.delete(created[1][0])
    await table.create(kind.make(created[1][0], created[1][1]))
    order = [name for name, _ in created[:1] + created[2:] + created[1:2]]
    alice = [name for name, owner in created[:1] + created[2:] + created[1:2] if owner == "alice"]

    assert _names(await table.list()) == order
    assert _names(await table.list(owner="alice")) == alice
    assert _names(await table.list(owner="nobody")) == []
    assert _names(await table.list(prefix=f"{kind.prefix}item-1")) == [f"{kind.prefix}item-1"]
    assert _names(await table.list(prefix="elsewhere/")) == []
    assert _names(await table.list(start=2, limit=2)) == order[2:4]
    assert _names(await table.list(owner="alice", start=1, limit=2)) == alice[1:3]
    assert _names(await table.list(start=len(order))) == []
    assert _names(await table.list(limit=0)) == []


async def test_listed_versions_are_current(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "versioned"
    await table.create(kind.make(name, "alice"))
    current = await table.get(name)
    assert current is not None
    version = await table.update(kind.relabel(current.record, "next"), current.version)
    [listed] = await table.list()
    assert listed.version == version


async def test_reads_are_copies(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "copied"
    await table.create(kind.make(name, "alice"))
    found = await table.get(name)
    assert found is not None
    _mutate(found.record)
    [listed] = await table.list()
    _mutate(listed.record)
    again = await table.get(name)
    assert again is not None and kind.label(again.record) == "first"


async def test_writes_are_copies(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "taken"
    record = kind.make(name, "alice")
    await table.create(record)
    _mutate(record)
    found = await table.get(name)
    assert found is not None and kind.label(found.record) == "first"
    update = kind.relabel(found.record, "second")
    await table.update(update, found.version)
    _mutate(update)
    again = await table.get(name)
    assert again is not None and kind.label(again.record) == "second"


def _mutate(record: Any) -> None:
    # Change the label field in place, whatever the kind.
    for attribute in ("operation", "model", "dataset"):
        message = getattr(record, attribute, None)
        if message is None:
            continue
        if attribute == "operation":
            message.error.message = "mutated"
        else:
            message.display_name = "mutated"


async def test_modify_may_not_rename(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "fixed"
    await table.create(kind.make(name, "alice"))
    with pytest.raises(ValueError, match="rename"):
        await modify(table, name, lambda record: kind.make(kind.prefix + "other", "alice"))


async def test_modify_gives_up_when_it_always_loses() -> None:
    # A store where every compare-and-set loses: modify stops after MODIFY_ATTEMPTS reads.
    class Losing:
        reads = 0

        async def get(self, name: str) -> Versioned[DatasetRecord]:
            self.reads += 1
            record = DatasetRecord(dataset_pb2.Dataset(name=name), "alice")
            return Versioned(record, self.reads)

        async def update(self, record: DatasetRecord, expected_version: int) -> int | None:
            return None

    table = Losing()
    with pytest.raises(ConcurrentUpdateError):
        await modify(cast("Table[DatasetRecord]", table), "datasets/x", lambda record: record)
    assert table.reads == MODIFY_ATTEMPTS
