"""What every store promises, for each kind of record: create-if-absent, compare-and-set,
delete, listing order and filters, copies in and out, and for tuned models and datasets
one namespace of names per owner."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from textgen.v1 import dataset_pb2

from tests.server.storage.conftest import KINDS, Kind
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
    assert not await table.create(kind.relabel(kind.make(name, "alice"), "second"))
    found = await kind.get(stores, "alice", name)
    assert found is not None
    assert found.version == FIRST_VERSION
    assert found.record.owner == "alice" and kind.label(found.record) == "first"


async def test_a_name_kept_alone_is_taken_for_everyone(stores: Stores) -> None:
    # Operations are kept by name alone: another owner cannot create a taken name.
    table = stores.operations
    kind = KINDS["operations"]
    assert await table.create(kind.make("operations/one", "alice"))
    assert not await table.create(kind.make("operations/one", "bob"))
    found = await table.get("operations/one")
    assert found is not None and found.record.owner == "alice"


async def test_concurrent_creates_of_one_name_have_one_winner(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "contested"
    contenders = [kind.relabel(kind.make(name, "alice"), f"try-{n}") for n in range(40)]
    won = await asyncio.gather(*(table.create(record) for record in contenders))
    assert won.count(True) == 1
    winner = contenders[won.index(True)]
    found = await kind.get(stores, "alice", name)
    assert found is not None and kind.label(found.record) == kind.label(winner)


async def test_get_missing_is_none(stores: Stores, kind: Kind) -> None:
    assert await kind.get(stores, "alice", kind.prefix + "none") is None


async def test_update_compares_the_version(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "cas"
    await table.create(kind.make(name, "alice"))
    first = await kind.get(stores, "alice", name)
    assert first is not None
    second_version = await table.update(kind.relabel(first.record, "second"), first.version)
    assert second_version is not None and second_version > first.version
    # A writer still holding the first version loses, and changes nothing.
    assert await table.update(kind.relabel(first.record, "stale"), first.version) is None
    found = await kind.get(stores, "alice", name)
    assert found is not None
    assert (kind.label(found.record), found.version) == ("second", second_version)


async def test_update_of_a_missing_record_is_none(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    assert await table.update(kind.make(kind.prefix + "none", "alice"), FIRST_VERSION) is None
    assert await kind.get(stores, "alice", kind.prefix + "none") is None


async def test_concurrent_updates_from_one_version_have_one_winner(
    stores: Stores, kind: Kind
) -> None:
    table = kind.table(stores)
    name = kind.prefix + "race"
    await table.create(kind.make(name, "alice"))
    base = await kind.get(stores, "alice", name)
    assert base is not None
    labels = [f"writer-{number}" for number in range(20)]
    versions = await asyncio.gather(
        *(table.update(kind.relabel(base.record, label), base.version) for label in labels)
    )
    winners = [label for label, version in zip(labels, versions, strict=True) if version]
    assert len(winners) == 1
    found = await kind.get(stores, "alice", name)
    assert found is not None and kind.label(found.record) == winners[0]


async def test_modify_loses_no_update(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "counter"
    await table.create(kind.relabel(kind.make(name, "alice"), "0"))

    async def increment() -> None:
        await kind.modify(
            stores,
            "alice",
            name,
            lambda record: kind.relabel(record, str(int(kind.label(record)) + 1)),
        )

    await asyncio.gather(*(increment() for _ in range(25)))
    found = await kind.get(stores, "alice", name)
    assert found is not None and kind.label(found.record) == "25"


async def test_modify_without_change_or_record(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "same"
    assert await kind.modify(stores, "alice", name, lambda record: record) is None  # missing
    await table.create(kind.make(name, "alice"))
    unchanged = await kind.modify(stores, "alice", name, lambda record: None)
    assert unchanged is not None and unchanged.version == FIRST_VERSION


async def test_delete(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "gone"
    await table.create(kind.make(name, "alice"))
    assert await kind.delete(stores, "alice", name)
    assert not await kind.delete(stores, "alice", name)
    assert await kind.get(stores, "alice", name) is None
    assert await table.create(kind.make(name, "alice"))  # the name is free again


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
    first = await kind.get(stores, created[0][1], created[0][0])
    assert first is not None
    await table.update(kind.relabel(first.record, "changed"), first.version)
    await kind.delete(stores, created[1][1], created[1][0])
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
    current = await kind.get(stores, "alice", name)
    assert current is not None
    version = await table.update(kind.relabel(current.record, "next"), current.version)
    [listed] = await table.list()
    assert listed.version == version


async def test_reads_are_copies(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "copied"
    await table.create(kind.make(name, "alice"))
    found = await kind.get(stores, "alice", name)
    assert found is not None
    _mutate(found.record)
    [listed] = await table.list()
    _mutate(listed.record)
    again = await kind.get(stores, "alice", name)
    assert again is not None and kind.label(again.record) == "first"


async def test_writes_are_copies(stores: Stores, kind: Kind) -> None:
    table = kind.table(stores)
    name = kind.prefix + "taken"
    record = kind.make(name, "alice")
    await table.create(record)
    _mutate(record)
    found = await kind.get(stores, "alice", name)
    assert found is not None and kind.label(found.record) == "first"
    update = kind.relabel(found.record, "second")
    await table.update(update, found.version)
    _mutate(update)
    again = await kind.get(stores, "alice", name)
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
        await kind.modify(stores, "alice", name, lambda _: kind.make(kind.prefix + "x", "alice"))


async def test_modify_gives_up_when_it_always_loses() -> None:
    # A store where every compare-and-set loses: modify stops after MODIFY_ATTEMPTS reads.
    class Losing:
        reads = 0

        async def get(self, owner: str, name: str) -> Versioned[DatasetRecord]:
            self.reads += 1
            record = DatasetRecord(dataset_pb2.Dataset(name=name), owner)
            return Versioned(record, self.reads)

        async def update(self, record: DatasetRecord, expected_version: int) -> int | None:
            return None

    table = Losing()
    with pytest.raises(ConcurrentUpdateError):
        await modify(
            cast("Table[DatasetRecord]", table), "alice", "datasets/x", lambda record: record
        )
    assert table.reads == MODIFY_ATTEMPTS


# --- one namespace of names per owner (tuned models and datasets) ----------------------------


async def test_two_owners_hold_one_name_independently(stores: Stores, owned_kind: Kind) -> None:
    kind, table = owned_kind, owned_kind.table(stores)
    name = kind.prefix + "shared"
    assert await table.create(kind.relabel(kind.make(name, "alice"), "alice's"))
    assert await table.create(kind.relabel(kind.make(name, "bob"), "bob's"))
    # Each owner's name is still taken for that owner alone.
    assert not await table.create(kind.make(name, "alice"))
    assert not await table.create(kind.make(name, "bob"))
    alice = await kind.get(stores, "alice", name)
    bob = await kind.get(stores, "bob", name)
    assert alice is not None and bob is not None
    assert (alice.record.owner, kind.label(alice.record)) == ("alice", "alice's")
    assert (bob.record.owner, kind.label(bob.record)) == ("bob", "bob's")
    assert await kind.get(stores, "carol", name) is None
    assert _names(await table.list(owner="alice")) == [name]
    assert _names(await table.list(owner="bob")) == [name]
    assert _names(await table.list()) == [name, name]
    assert await table.count(owner="alice") == await table.count(owner="bob") == 1


async def test_one_owners_writes_never_touch_anothers(stores: Stores, owned_kind: Kind) -> None:
    kind, table = owned_kind, owned_kind.table(stores)
    name = kind.prefix + "shared"
    await table.create(kind.relabel(kind.make(name, "alice"), "alice's"))
    await table.create(kind.relabel(kind.make(name, "bob"), "bob's"))

    bob = await kind.get(stores, "bob", name)
    assert bob is not None
    assert await table.update(kind.relabel(bob.record, "bob's new"), bob.version)
    await kind.modify(stores, "bob", name, lambda record: kind.relabel(record, "bob's newer"))
    alice = await kind.get(stores, "alice", name)
    assert alice is not None
    assert (kind.label(alice.record), alice.version) == ("alice's", FIRST_VERSION)

    # Bob's version numbers say nothing about Alice's record: an update of Alice's record
    # is compared with Alice's version only.
    assert await table.update(kind.relabel(alice.record, "x"), alice.version + 2) is None
    assert await table.update(kind.relabel(alice.record, "alice's new"), alice.version)

    # Modifying a name another owner holds finds nothing of one's own.
    assert await kind.modify(stores, "carol", name, lambda r: kind.relabel(r, "carol's")) is None

    assert await kind.delete(stores, "bob", name)
    assert not await kind.delete(stores, "carol", name)
    alice = await kind.get(stores, "alice", name)
    assert alice is not None and kind.label(alice.record) == "alice's new"
    assert await kind.get(stores, "bob", name) is None
    assert _names(await table.list(owner="alice")) == [name]
    assert await table.count(owner="bob") == 0


async def test_modify_may_not_change_the_owner(stores: Stores, owned_kind: Kind) -> None:
    kind, table = owned_kind, owned_kind.table(stores)
    name = kind.prefix + "kept"
    await table.create(kind.make(name, "alice"))
    with pytest.raises(ValueError, match="another owner"):
        await kind.modify(stores, "alice", name, lambda _: kind.make(name, "bob"))
    assert await kind.get(stores, "bob", name) is None


async def test_concurrent_creates_by_many_owners_all_win(stores: Stores, owned_kind: Kind) -> None:
    kind, table = owned_kind, owned_kind.table(stores)
    name = kind.prefix + "popular"
    owners = [f"user-{number}" for number in range(20)]
    won = await asyncio.gather(*(table.create(kind.make(name, owner)) for owner in owners))
    assert all(won)
    for owner in owners:
        found = await kind.get(stores, owner, name)
        assert found is not None and found.record.owner == owner
