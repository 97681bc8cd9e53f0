"""Ids chosen on create are each principal's own (issue 10, finding 9: no existence oracle).

Alice and Bob each create `tunedModels/shared` and `datasets/shared`. Bob's creates succeed
(they answered ALREADY_EXISTS, naming Alice's resource, when ids were one namespace) and
make resources of his own; Alice's stay as they were, and neither principal sees the
other's through get, list, generation, rows, batches or delete. The same holds on the
durable stores, whose batch jobs run through the job ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import textgen
from tests.pg_cluster import Cluster, create_database
from textgen import errors
from textgen.rows import PromptRow, ResultRow
from textgen.server.app import serve
from textgen.server.state import ServerState
from textgen.testing import FakeServer, Progression
from textgen.testing.fake_engine import FakeEngine

KEYS = {"key-alice": "alice", "key-bob": "bob"}
BASE = "gemini-1.0-pro-001"
TEXT = "text-bison-001"
# More rows than one CreateDataset carries, so the client uploads them (UploadDataset).
UPLOADED = 1001
BOUND = 120.0  # seconds a durable scenario may take before it counts as hung


def texts(rows: Iterable[PromptRow | ResultRow]) -> list[str]:
    """The prompt text of each row (a result row's input)."""
    found = []
    for row in rows:
        text = row.text if isinstance(row, PromptRow) else row.input_text
        assert text is not None
        found.append(text)
    return found


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer(api_keys=KEYS, progression=Progression.immediate()) as server:
        yield server


@pytest.fixture
def clients(fake: FakeServer) -> Iterator[tuple[textgen.Client, textgen.Client]]:
    fake.reset()
    with (
        textgen.Client(fake.target, api_key="key-alice", timeout=30) as alice,
        textgen.Client(fake.target, api_key="key-bob", timeout=30) as bob,
    ):
        yield alice, bob


def test_bob_tunes_under_an_id_alice_holds(clients: tuple[textgen.Client, textgen.Client]) -> None:
    alice, bob = clients
    first = alice.tuned_models.create(
        BASE, [("I", "one")], tuned_model_id="shared", display_name="Alice's", epoch_count=1
    ).result(timeout=15)
    second = bob.tuned_models.create(
        BASE, [("I", "uno")], tuned_model_id="shared", display_name="Bob's", epoch_count=1
    ).result(timeout=15)
    assert first.name == second.name == "tunedModels/shared"

    assert alice.tuned_models.get("shared").display_name == "Alice's"
    assert bob.tuned_models.get("shared").display_name == "Bob's"
    assert [model.display_name for model in alice.tuned_models.list()] == ["Alice's"]
    assert [model.display_name for model in bob.tuned_models.list()] == ["Bob's"]
    # Generation runs the caller's own tuned model of that name.
    assert alice.tuned_models.generate_content("shared", "I").text == "one"
    assert bob.tuned_models.generate_content("shared", "I").text == "uno"
    assert alice.models.get("tunedModels/shared").display_name == "Alice's"

    # A change or a delete by Bob is to his model only.
    bob.tuned_models.update("shared", description="Bob's change")
    bob.tuned_models.delete("shared")
    with pytest.raises(errors.NotFound):
        bob.tuned_models.get("shared")
    kept = alice.tuned_models.get("shared")
    assert (kept.display_name, kept.description) == ("Alice's", "")
    assert alice.tuned_models.generate_content("shared", "I").text == "one"


def test_bob_creates_a_dataset_under_an_id_alice_holds(
    clients: tuple[textgen.Client, textgen.Client],
) -> None:
    alice, bob = clients
    alices = alice.datasets.create(["alice 0", "alice 1"], dataset_id="shared")
    bobs = bob.datasets.create([f"bob {n}" for n in range(UPLOADED)], dataset_id="shared")
    assert alices.name == bobs.name == "datasets/shared"
    assert (alices.row_count, bobs.row_count) == (2, UPLOADED)
    # A second create of one's own id is still ALREADY_EXISTS, by either call.
    with pytest.raises(errors.AlreadyExists):
        bob.datasets.create(["again"], dataset_id="shared")
    with pytest.raises(errors.AlreadyExists):
        alice.datasets.create([f"again {n}" for n in range(UPLOADED)], dataset_id="shared")

    assert alice.datasets.get("shared").row_count == 2
    assert bob.datasets.get("shared").row_count == UPLOADED
    assert [d.name for d in alice.datasets.list()] == ["datasets/shared"]
    assert [d.name for d in bob.datasets.list()] == ["datasets/shared"]
    assert texts(alice.datasets.read("shared")) == ["alice 0", "alice 1"]
    assert texts(bob.datasets.read("shared", start_index=UPLOADED - 1)) == [f"bob {UPLOADED - 1}"]

    # A batch reads the caller's own dataset of that name, and its results are the caller's.
    job = alice.batches.create(TEXT, dataset="shared")
    job.wait(timeout=15)
    results = job.result_dataset
    assert results is not None
    assert texts(alice.datasets.read(results)) == ["alice 0", "alice 1"]
    with pytest.raises(errors.NotFound):
        bob.datasets.get(results)

    bob.datasets.delete("shared")
    with pytest.raises(errors.NotFound):
        bob.datasets.get("shared")
    assert texts(alice.datasets.read("shared")) == ["alice 0", "alice 1"]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A durable store: a SQLite file, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'state.db'}"
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    create_database(cluster.url(), "namespaces")
    return cluster.url("namespaces")


async def test_durable_jobs_read_and_write_the_owners_datasets(store_url: str) -> None:
    # On a durable store batches run through the job ledger, which appends each batch's
    # results to the result dataset of the job's owner; both owners' `datasets/shared` feed
    # their own batch, and each batch's results are its owner's.
    async def scenario() -> None:
        state = ServerState(engine=FakeEngine(seed=0), api_keys=KEYS)
        running = await serve(state, store=store_url, health=False, reflection=False)
        target = f"127.0.0.1:{running.port}"
        try:
            async with (
                textgen.AsyncClient(target, api_key="key-alice", timeout=30) as alice,
                textgen.AsyncClient(target, api_key="key-bob", timeout=30) as bob,
            ):
                await alice.datasets.create(["alice 0", "alice 1"], dataset_id="shared")
                await bob.datasets.create(["bob 0"], dataset_id="shared")
                jobs = [
                    await client.batches.create(TEXT, dataset="shared") for client in (alice, bob)
                ]
                for job in jobs:
                    await job.wait(timeout=30)
                found = []
                for client, job in zip((alice, bob), jobs, strict=True):
                    assert job.result_dataset is not None
                    found.append(
                        texts([row async for row in client.datasets.read(job.result_dataset)])
                    )
                assert found == [["alice 0", "alice 1"], ["bob 0"]]
                tuned = [
                    await client.tuned_models.create(
                        BASE, [("I", answer)], tuned_model_id="shared", epoch_count=1
                    )
                    for client, answer in ((alice, "one"), (bob, "uno"))
                ]
                for operation in tuned:
                    await operation.result(timeout=30)
                answers = [
                    (await client.tuned_models.generate_content("shared", "I")).text
                    for client in (alice, bob)
                ]
                assert answers == ["one", "uno"]
        finally:
            await running.stop(None)

    await asyncio.wait_for(scenario(), BOUND)
