"""The client in the Yandex flavour, against a FakeServer that serves only Yandex's names.

A Yandex-only server has no DatasetService (Yandex's own dataset API is another one
entirely), so each test also starts a second server over the same state that serves only
textgen.v1: it seeds the prompt datasets and reads the result rows, as a user would do through
Yandex's dataset tools. Every call under test goes to the Yandex-only server, whose journal is
checked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

import textgen
from tests.client.conftest import Api
from textgen import BatchStatus, _calls, _routes, _transport, errors, yandex_operation
from textgen.retry import RetryPolicy
from textgen.server.app import Running, serve
from textgen.testing.fake_server import FakeServer
from textgen.testing.pacing import Progression

FOLDER = "b1gfolder"
MODEL = "text-bison-001"
YFM = "yandex.cloud.ai.foundation_models.v1.TextGenerationBatchService"
YOPS = "yandex.cloud.operation.OperationService"
COMPLETION = f"/{YFM}/Completion"
GET = f"/{YOPS}/Get"
CANCEL = f"/{YOPS}/Cancel"
# The names the server's policies (journal methods, fault scripts) know these methods by.
OUR_GET = f"/{yandex_operation.OPERATION_SERVICE}/Get"
OUR_COMPLETION = f"/{yandex_operation.BATCH_SERVICE}/Completion"


class Servers:
    """The Yandex-only FakeServer under test, and a textgen.v1 server over its state."""

    def __init__(self, fake: FakeServer, side: Running, kind: str) -> None:
        self.fake = fake
        self.side = side
        self.kind = kind
        self._clients: list[Api] = []

    def client(self, **options: Any) -> Api:
        """A Yandex-flavoured client of the test's kind (key "k" and FOLDER by default)."""
        options = {"api": "yandex", "api_key": "k", "folder_id": FOLDER, **options}
        if options.get("iam_token") is not None:
            options.pop("api_key")
        made = Api(
            self.kind,
            self.fake.target,
            sent=lambda: len(self.fake.journal.calls()),
            timeout=20,
            **options,
        )
        self._clients.append(made)
        return made

    async def dataset(self, rows: int) -> str:
        """A prompt dataset of `rows` rows, created through our own names."""
        async with textgen.AsyncClient(f"127.0.0.1:{self.side.port}", api_key="k") as ours:
            created = await ours.datasets.create([f"row {i}" for i in range(rows)])
        return str(created.name)

    async def result_rows(self, task_id: str) -> list[Any]:
        """The result rows of a finished batch task, read through our own names."""
        async with textgen.AsyncClient(f"127.0.0.1:{self.side.port}", api_key="k") as ours:
            job = await ours.batches.get(task_id)
            return [row async for row in job.results()]

    async def close(self) -> None:
        for made in self._clients:
            await made.close()


@pytest.fixture(params=["sync", "async"])
async def servers(request: pytest.FixtureRequest) -> AsyncIterator[Servers]:
    # Both servers run on the test's loop; a blocking client calls from a worker thread.
    fake = FakeServer(
        apis=("yandex",), api_keys={"k": "alice"}, progression=Progression.immediate()
    )
    async with fake:
        side = await serve(fake.state, operations=fake.operations, apis=("textgen",))
        made = Servers(fake, side, str(request.param))
        try:
            yield made
        finally:
            await made.close()
            await side.stop(None)


def request_of(call: Any) -> Message:
    (first,) = call.requests
    return first  # type: ignore[no-any-return]


async def test_a_batch_runs_on_yandex_names_with_yandex_metadata(servers: Servers) -> None:
    dataset = await servers.dataset(45)
    client = servers.client()
    job = await client(lambda c: c.batches.create(MODEL, dataset=dataset))
    finished = await client(lambda c: job.wait(timeout=15))
    assert finished.status == BatchStatus.COMPLETED
    assert (finished.completed_batches, finished.total_batches) == (3, 3)
    assert finished.name == f"operations/{finished.task_id}"
    rows = await servers.result_rows(finished.task_id)
    assert [row.input.text for row in rows] == [f"row {i}" for i in range(45)]

    calls = servers.fake.journal.calls()
    assert [call.path for call in calls][:1] == [COMPLETION]
    assert {call.path for call in calls[1:]} == {GET}  # no WaitOperation in Yandex
    assert {call.api for call in calls} == {"yandex"}
    for call in calls:
        assert ("authorization", "Api-Key k") in call.metadata
        assert not any(name in ("x-api-key", "x-goog-api-key") for name, _ in call.metadata)
    # The folder goes with the foundation-models call, in the URI and in x-folder-id.
    assert ("x-folder-id", FOLDER) in calls[0].metadata
    assert all(name != "x-folder-id" for call in calls[1:] for name, _ in call.metadata)
    sent: Any = request_of(calls[0])
    assert sent.model_uri == f"gpt://{FOLDER}/{MODEL}/latest"
    assert sent.source_dataset_id == dataset.removeprefix("datasets/")
    polled: Any = request_of(calls[-1])
    assert polled.operation_id == finished.task_id


async def test_progress_shows_batches_through_the_get_backoff(servers: Servers) -> None:
    servers.fake.progression = Progression.after_polls(1)
    dataset = await servers.dataset(45)
    client = servers.client()
    job = await client(lambda c: c.batches.create(MODEL, dataset=dataset))
    seen: list[tuple[int, int]] = []
    shown: list[_calls.Progress] = []

    class Bar:
        def update(self, progress: _calls.Progress) -> None:
            shown.append(progress)

        def close(self) -> None:
            pass

    def record(metadata: Any) -> None:
        seen.append((metadata.completed_batches, metadata.total_batches))

    await client(lambda c: job.wait(timeout=15, on_progress=record, progress=Bar()))
    assert seen[-1] == (3, 3)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert {done for done, _ in seen} == {0, 1, 2, 3}
    assert {total for _, total in seen} == {3}
    assert [(p.completed, p.total) for p in shown] == [(float(d), float(t)) for d, t in seen]
    paths = [call.path for call in servers.fake.journal.calls()]
    assert paths.count(GET) >= 5  # one stage per poll: PENDING, IN_PROGRESS, three batches


async def test_an_iam_token_is_a_bearer_and_cancel_is_yandex_cancel(servers: Servers) -> None:
    servers.fake.progression = Progression.after_polls(50)
    dataset = await servers.dataset(5)
    client = servers.client(iam_token="k")
    job = await client(lambda c: c.batches.create(MODEL, dataset=dataset))
    await client(lambda c: job.cancel())
    assert job.status == BatchStatus.CANCELED or job.cancelled
    calls = servers.fake.journal.calls()
    assert [call.path for call in calls] == [COMPLETION, CANCEL, GET]
    for call in calls:
        assert ("authorization", "Bearer k") in call.metadata
    with pytest.raises(ValueError, match="api_key or iam_token"):
        textgen.Client("127.0.0.1:1", api="yandex", api_key="k", iam_token="t")


async def test_model_uris_need_a_folder_unless_given_whole(servers: Servers) -> None:
    dataset = await servers.dataset(3)
    no_folder = servers.client(folder_id=None)
    with pytest.raises(errors.UsageError, match="folder_id"):
        await no_folder(lambda c: c.batches.create(MODEL, dataset=dataset))
    assert servers.fake.journal.calls() == []
    uri = f"gpt://{FOLDER}/{MODEL}/rc"
    job = await no_folder(lambda c: c.batches.create(uri, dataset=dataset))
    assert job.name.startswith("operations/")
    (call,) = servers.fake.journal.calls()
    sent: Any = request_of(call)
    assert sent.model_uri == uri
    assert all(name != "x-folder-id" for name, _ in call.metadata)
    assert _routes.yandex_model_uri("models/m", "f") == "gpt://f/m/latest"
    assert _routes.yandex_model_uri("tunedModels/t", None) == "tunedModels/t"
    with pytest.raises(ValueError, match="folder_id is for api='yandex'"):
        textgen.Client("127.0.0.1:1", folder_id=FOLDER)


async def test_methods_yandex_lacks_fail_before_any_network_call(servers: Servers) -> None:
    client = servers.client()
    lacking = [
        ("GetModel", lambda c: c.models.get(MODEL)),
        ("GenerateText", lambda c: c.models.generate_text(MODEL, "hi")),
        ("GetTunedModel", lambda c: c.tuned_models.get("tunedModels/t")),
        ("GetDataset", lambda c: c.datasets.get("datasets/d")),
        ("DeleteOperation", lambda c: c.operations.delete("operations/x")),
        # A batch from rows would first upload them through DatasetService.
        ("CreateDataset", lambda c: c.batches.create(MODEL, rows=["a"])),
    ]
    for method, call in lacking:
        with pytest.raises(errors.UnsupportedByApi) as caught:
            await client(call)
        assert (caught.value.method, caught.value.api) == (method, "yandex")
    for method, listing in [
        ("ListOperations", lambda c: c.operations.list()),
        ("ListOperations", lambda c: c.batches.list()),
        ("ListModels", lambda c: c.models.list()),
    ]:
        with pytest.raises(errors.UnsupportedByApi, match=method):
            await client.items(listing)
    assert servers.fake.journal.calls() == []


async def test_retries_deadlines_and_typed_errors_as_elsewhere(servers: Servers) -> None:
    dataset = await servers.dataset(3)
    client = servers.client()
    job = await client(lambda c: c.batches.create(MODEL, dataset=dataset))
    # Get is idempotent: UNAVAILABLE is retried on Yandex's path as on ours.
    servers.fake.script(OUR_GET).fail(grpc.StatusCode.UNAVAILABLE, times=2)
    await client(lambda c: job.refresh())
    assert [call.path for call in servers.fake.journal.calls()].count(GET) == 3
    # Yandex's Completion has no request_id (ours is left out), so a resend could start a
    # second task: it is sent once.
    servers.fake.journal.clear()
    servers.fake.script(OUR_COMPLETION).fail(grpc.StatusCode.UNAVAILABLE, times=3)
    with pytest.raises(errors.Unavailable):
        await client(lambda c: c.batches.create(MODEL, dataset=dataset))
    assert [call.path for call in servers.fake.journal.calls()] == [COMPLETION]
    assert [call.request.request_id for call in servers.fake.journal.calls()] == [""]
    # Typed errors name the path the call took.
    with pytest.raises(errors.NotFound) as missing:
        await client(lambda c: c.batches.get("nosuchtask"))
    assert missing.value.method == GET
    with pytest.raises(errors.Unauthenticated):
        await servers.client(api_key="wrong")(lambda c: c.batches.get(job.task_id))
    servers.fake.script(OUR_GET).delay(5)
    with pytest.raises(errors.DeadlineExceeded):
        await client(lambda c: c.with_options(timeout=0.5).batches.get(job.task_id))


def test_the_retry_config_names_only_what_yandex_has() -> None:
    routing = _routes.routing("yandex", folder=FOLDER)
    methods = routing.grpc_retried(_calls.grpc_retried_methods)()
    # Yandex has no server streams; its unary methods are retried by the client's own loop.
    assert methods == []
    config = json.loads(_transport.service_config(RetryPolicy(), methods))
    assert not any(
        n.get("service", "").startswith("textgen.")
        for c in config.get("methodConfig", [])
        for n in c.get("name", [])
    )
    assert routing.offers(textgen.resources.batches.COMPLETION)
    assert not routing.offers(textgen.resources.datasets.STREAM_DATASET_ROWS)
    assert routing.route(textgen.resources.batches.COMPLETION).method.path == COMPLETION


def test_with_options_keeps_the_flavour_and_folder() -> None:
    with textgen.Client("127.0.0.1:1", api="yandex", folder_id=FOLDER) as client:
        copy = client.with_options(timeout=5)
        assert (copy.api, copy.folder_id) == ("yandex", FOLDER)
        assert "api='yandex'" in repr(copy)
    with textgen.Client("127.0.0.1:1") as ours:
        assert ours.folder_id is None
