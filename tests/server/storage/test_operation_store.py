"""The operation store's own filter: done or not, with the shared ones."""

from __future__ import annotations

from google.longrunning import operations_proto_pb2 as operations_pb2

from textgen.server.storage import StoredOperation, Stores, Versioned


async def test_listing_by_done(stores: Stores) -> None:
    table = stores.operations
    for number in range(6):
        operation = operations_pb2.Operation(name=f"operations/{number}", done=number % 3 == 0)
        await table.create(StoredOperation(operation, "alice" if number < 4 else "bob"))

    def names(found: list[Versioned[StoredOperation]]) -> list[str]:
        return [versioned.record.name for versioned in found]

    assert names(await table.list(done=True)) == ["operations/0", "operations/3"]
    assert names(await table.list(done=False, owner="alice")) == [
        "operations/1",
        "operations/2",
    ]
    assert names(await table.list(done=False, start=1, limit=2)) == [
        "operations/2",
        "operations/4",
    ]


async def test_done_follows_updates(stores: Stores) -> None:
    table = stores.operations
    await table.create(StoredOperation(operations_pb2.Operation(name="operations/x"), "alice"))
    assert await table.list(done=True) == []
    current = await table.get("operations/x")
    assert current is not None
    current.record.operation.done = True
    await table.update(current.record, current.version)
    [found] = await table.list(done=True)
    assert found.record.operation.done


async def test_names_under_a_collection(stores: Stores) -> None:
    table = stores.operations
    for name in ("tunedModels/a/operations/1", "tunedModels/b/operations/2", "operations/3"):
        await table.create(StoredOperation(operations_pb2.Operation(name=name), "alice"))
    found = await table.list(prefix="tunedModels/a/")
    assert [versioned.record.name for versioned in found] == ["tunedModels/a/operations/1"]


async def test_the_flavour_is_kept(stores: Stores) -> None:
    table = stores.operations
    operation = operations_pb2.Operation(name="operations/g")
    await table.create(StoredOperation(operation, "alice", "generativelanguage"))
    await table.create(StoredOperation(operations_pb2.Operation(name="operations/t"), "alice"))
    found = await table.get("operations/g")
    assert found is not None and found.record.api == "generativelanguage"
    await table.update(found.record, found.version)
    [first, second] = await table.list()
    assert (first.record.api, second.record.api) == ("generativelanguage", "textgen")
