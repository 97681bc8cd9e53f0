"""The tuned model store's own filter (words in the display name or description) and what
it keeps besides the proto."""

from __future__ import annotations

from dataclasses import dataclass

from textgen.v1 import model_pb2, tuned_model_pb2

from textgen.server.storage import Stores, TunedModelRecord


@dataclass(frozen=True)
class Adapter:
    """What an engine's tuning might produce (durable stores pickle it)."""

    weights: tuple[float, ...]


def record(name: str, display_name: str, description: str = "") -> TunedModelRecord:
    return TunedModelRecord(
        model=tuned_model_pb2.TunedModel(
            name=name, display_name=display_name, description=description
        ),
        owner="alice",
        base_model=model_pb2.Model(name="models/base"),
        examples=(("1", "I"), ("2", "II")),
    )


async def test_listing_by_words(stores: Stores) -> None:
    table = stores.tuned_models
    await table.create(record("tunedModels/a", "Roman numerals", "counts in Latin"))
    await table.create(record("tunedModels/b", "Haiku writer", "five seven five"))
    await table.create(record("tunedModels/c", "Numbers", "Roman and Arabic"))

    async def names(*words: str) -> list[str]:
        return [found.record.name for found in await table.list(words=words)]

    assert await names("roman") == ["tunedModels/a", "tunedModels/c"]
    assert await names("ROMAN", "latin") == ["tunedModels/a"]
    assert await names("seven") == ["tunedModels/b"]
    assert await names("roman", "haiku") == []
    assert await names() == ["tunedModels/a", "tunedModels/b", "tunedModels/c"]
    paged = await table.list(words=["roman"], start=1, limit=1)
    assert [found.record.name for found in paged] == ["tunedModels/c"]


async def test_everything_besides_the_proto_is_kept(stores: Stores) -> None:
    table = stores.tuned_models
    adapter = Adapter((0.5, 0.25))
    stored = record("tunedModels/a", "A")
    await table.create(stored)
    current = await table.get("alice", "tunedModels/a")
    assert current is not None
    changed = TunedModelRecord(
        current.record.model,
        current.record.owner,
        current.record.base_model,
        current.record.examples,
        adapter=adapter,
        operation_name="tunedModels/a/operations/x",
    )
    await table.update(changed, current.version)
    found = await table.get("alice", "tunedModels/a")
    assert found is not None
    assert found.record.base_model.name == "models/base"
    assert found.record.examples == (("1", "I"), ("2", "II"))
    # The memory store shares the engine's object; durable stores keep an equal copy.
    assert found.record.adapter == adapter
    assert found.record.operation_name == "tunedModels/a/operations/x"
    found.record.base_model.name = "models/changed"
    again = await table.get("alice", "tunedModels/a")
    assert again is not None and again.record.base_model.name == "models/base"
