"""Yandex's BatchInferenceService, as its generated stubs and its ML SDK call it, against the
emulator's Yandex flavour.

The yandexcloud stubs start tasks with TextGenerationBatchService.Completion and then follow
them by task id: Describe until COMPLETED, List a page at a time and by status, Cancel a
task that a test pacer holds (Progression.after_polls), Delete. Each answer is compared with
what textgen.Client reads of the same task. The ML SDK (yandex-cloud-ml-sdk) starts a task
and waits on it the way it waits on Yandex's cloud. The packages are installed with
--no-deps in the latest leg of `make test` (tools/matrix.py); elsewhere this module skips.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2

import textgen
from tests.interop.official_calls import Row
from textgen import errors
from textgen.rows import ResultRow
from textgen.testing import FakeServer, Progression

inference_grpc: Any = pytest.importorskip(
    "yandex.cloud.ai.batch_inference.v1.batch_inference_service_pb2_grpc",
    reason="yandexcloud is installed (with --no-deps) in the latest leg only",
)
inference: Any = importlib.import_module(
    "yandex.cloud.ai.batch_inference.v1.batch_inference_service_pb2"
)
task_pb2: Any = importlib.import_module(
    "yandex.cloud.ai.batch_inference.v1.batch_inference_task_pb2"
)
_BATCH = "yandex.cloud.ai.foundation_models.v1.text_generation.text_generation_service"
batch_service: Any = importlib.import_module(f"{_BATCH}_pb2")
batch_grpc: Any = importlib.import_module(f"{_BATCH}_pb2_grpc")
operation_service: Any = importlib.import_module("yandex.cloud.operation.operation_service_pb2")
operation_grpc: Any = importlib.import_module("yandex.cloud.operation.operation_service_pb2_grpc")

KEY = "test-key"
FOLDER = "b1gfolder"
METADATA = (("authorization", f"Api-Key {KEY}"), ("x-folder-id", FOLDER))
Status = task_pb2.BatchInferenceTask
SERVICE = "yandex.cloud.ai.batch_inference.v1.BatchInferenceService"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(
        api_keys={KEY: "alice", "other-key": "bob"},
        clock="manual",
        progression=Progression.after_polls(),
    ) as server:
        yield server


@pytest.fixture
def channel(fake: FakeServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(fake.target) as chan:
        yield chan


@pytest.fixture
def client(fake: FakeServer) -> Iterator[textgen.Client]:
    with textgen.Client(fake.target, api_key=KEY) as ours:
        yield ours


def start(channel: grpc.Channel, dataset: str) -> Any:
    """A batch task started through the stubs; its Yandex operation."""
    request = batch_service.BatchCompletionRequest(
        model_uri=f"gpt://{FOLDER}/text-bison-001/latest",
        source_dataset_id=dataset.removeprefix("datasets/"),
    )
    return batch_grpc.TextGenerationBatchServiceStub(channel).Completion(request, metadata=METADATA)


def describe(stub: Any, task_id: str) -> Any:
    request = inference.DescribeBatchInferenceRequest(task_id=task_id)
    return stub.Describe(request, metadata=METADATA).task


def describe_until_done(stub: Any, task_id: str) -> tuple[Any, list[int]]:
    """Describe until the task is finished: its last answer and every status seen."""
    seen: list[int] = []
    for _ in range(50):
        task = describe(stub, task_id)
        seen.append(task.status)
        if task.status in (Status.COMPLETED, Status.FAILED, Status.CANCELED):
            return task, seen
    raise AssertionError(f"{task_id} did not finish: {seen}")


def list_all(stub: Any, **fields: Any) -> tuple[list[Any], int]:
    """Every task of a List, a page at a time: the tasks and the number of pages."""
    tasks: list[Any] = []
    token, pages = "", 0
    while True:
        request = inference.ListBatchInferencesRequest(folder_id=FOLDER, page_token=token, **fields)
        page = stub.List(request, metadata=METADATA)
        tasks += page.tasks
        pages += 1
        token = page.next_page_token
        if not token:
            return tasks, pages


def rpc_error(call: Any, request: Any, metadata: Any = METADATA) -> errors.APIError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, metadata=metadata)
    return errors.from_rpc_error(caught.value)


def test_describe_until_completed_matches_our_client(
    client: textgen.Client, channel: grpc.Channel
) -> None:
    prompts = client.datasets.create(["Say hello", "Count to three"])
    started = start(channel, prompts.name)
    stub: Any = inference_grpc.BatchInferenceServiceStub(channel)

    task, seen = describe_until_done(stub, started.id)
    assert seen == sorted(seen) and seen[-1] == Status.COMPLETED  # it only moves forward
    assert Status.IN_PROGRESS in seen

    job = client.batches.get(task.task_id)
    assert (task.task_id, task.operation_id) == (job.task_id, started.id)
    assert task.status == job.status == textgen.BatchStatus.COMPLETED
    assert f"datasets/{task.result_dataset_id}" == job.result_dataset
    assert task.source_dataset_id == prompts.name.removeprefix("datasets/")
    assert task.model_uri == f"gpt://{FOLDER}/text-bison-001/latest"
    assert task.completion_request.model_uri == task.model_uri
    assert (task.folder_id, task.created_by) == (FOLDER, "alice")
    assert not task.HasField("errors")

    # The times are the operation's, as OperationService reads them.
    get = operation_service.GetOperationRequest(operation_id=started.id)
    operation = operation_grpc.OperationServiceStub(channel).Get(get, metadata=METADATA)
    assert task.created_at == operation.created_at == task.started_at
    assert task.finished_at == operation.modified_at

    rows = list(client.datasets.read(task.result_dataset_id))
    assert len(rows) == 2 and all(isinstance(row, ResultRow) and row.ok for row in rows)


def test_list_pages_and_the_status_filter_match_our_client(
    client: textgen.Client, channel: grpc.Channel
) -> None:
    prompts = client.datasets.create(["one"])
    ids = [start(channel, prompts.name).id for _ in range(3)]
    stub: Any = inference_grpc.BatchInferenceServiceStub(channel)
    stub.Cancel(inference.CancelBatchInferenceRequest(task_id=ids[1]), metadata=METADATA)
    for task_id in (ids[0], ids[2]):
        describe_until_done(stub, task_id)

    tasks, pages = list_all(stub, page_size=1)
    assert [task.task_id for task in tasks] == ids and pages == 3
    ours = client.batches.list()
    assert [(job.task_id, job.status) for job in ours] == [
        (task.task_id, task.status) for task in tasks
    ]
    assert [task.status for task in tasks] == [Status.COMPLETED, Status.CANCELED, Status.COMPLETED]
    assert all(task.folder_id == FOLDER for task in tasks)

    completed, pages = list_all(stub, page_size=1, status=Status.COMPLETED)
    assert [task.task_id for task in completed] == [ids[0], ids[2]] and pages == 2
    cancelled, _ = list_all(stub, status=Status.CANCELED)
    assert [task.task_id for task in cancelled] == [
        job.task_id for job in client.batches.list() if job.status == textgen.BatchStatus.CANCELED
    ]

    # A page token belongs to the listing it came from.
    first = stub.List(
        inference.ListBatchInferencesRequest(folder_id=FOLDER, page_size=1), metadata=METADATA
    )
    other = inference.ListBatchInferencesRequest(
        folder_id=FOLDER, page_token=first.next_page_token, status=Status.CANCELED
    )
    error = rpc_error(stub.List, other)
    assert isinstance(error, errors.InvalidArgument)
    assert [v.field for v in error.field_violations] == ["page_token"]


def test_cancel_a_paced_task_then_delete_it(client: textgen.Client, channel: grpc.Channel) -> None:
    prompts = client.datasets.create(["x"])
    task_id = start(channel, prompts.name).id
    stub: Any = inference_grpc.BatchInferenceServiceStub(channel)
    assert describe(stub, task_id).status in (Status.CREATED, Status.PENDING)  # held by the pacer

    refused = rpc_error(stub.Delete, inference.DeleteBatchInferenceRequest(task_id=task_id))
    assert isinstance(refused, errors.FailedPrecondition)
    failure = refused.detail(error_details_pb2.PreconditionFailure)
    assert failure is not None and failure.violations[0].subject.endswith(task_id)

    cancel = inference.CancelBatchInferenceRequest(task_id=task_id)
    assert stub.Cancel(cancel, metadata=METADATA).task_id == task_id
    task = describe(stub, task_id)
    assert task.status == Status.CANCELED
    assert task.errors.status.code == code_pb2.CANCELLED
    assert task.HasField("finished_at") and not task.result_dataset_id
    job = client.batches.get(task_id)
    assert job.status == textgen.BatchStatus.CANCELED and job.cancelled()

    delete = inference.DeleteBatchInferenceRequest(task_id=task_id)
    assert stub.Delete(delete, metadata=METADATA).task_id == task_id
    gone = rpc_error(stub.Describe, inference.DescribeBatchInferenceRequest(task_id=task_id))
    assert isinstance(gone, errors.NotFound)
    info = gone.detail(error_details_pb2.ResourceInfo)
    assert info is not None and info.resource_name == task_id
    assert info.resource_type == "yandex.cloud.ai.batch_inference.v1.BatchInferenceTask"
    with pytest.raises(errors.NotFound):
        client.batches.get(task_id)


def test_errors_name_the_field_or_the_task(client: textgen.Client, channel: grpc.Channel) -> None:
    stub: Any = inference_grpc.BatchInferenceServiceStub(channel)
    for call, request, field in (
        (stub.Describe, inference.DescribeBatchInferenceRequest(), "task_id"),
        (stub.Cancel, inference.CancelBatchInferenceRequest(task_id="a/b"), "task_id"),
        (stub.List, inference.ListBatchInferencesRequest(), "folder_id"),
        (stub.List, inference.ListBatchInferencesRequest(folder_id="f", page_size=-1), "page_size"),
    ):
        error = rpc_error(call, request)
        assert isinstance(error, errors.InvalidArgument), field
        assert [v.field for v in error.field_violations] == [field]

    task_id = start(channel, client.datasets.create(["x"]).name).id
    someone_else = (("authorization", "Api-Key other-key"),)
    for metadata, wanted in ((METADATA, "missing"), (someone_else, task_id)):
        request = inference.DescribeBatchInferenceRequest(task_id=wanted)
        error = rpc_error(stub.Describe, request, metadata)
        assert isinstance(error, errors.NotFound)
        info = error.detail(error_details_pb2.ResourceInfo)
        assert info is not None and info.resource_name == wanted


def test_a_yandex_only_server_serves_it_with_health_and_reflection() -> None:
    health: Any = pytest.importorskip("grpc_health.v1.health_pb2")
    health_grpc: Any = importlib.import_module("grpc_health.v1.health_pb2_grpc")
    reflection: Any = importlib.import_module(
        "grpc_reflection.v1alpha.proto_reflection_descriptor_database"
    )
    with (
        FakeServer(api_keys={KEY: "alice"}, apis=("yandex",)) as fake,
        grpc.insecure_channel(fake.target) as channel,
    ):
        check = health.HealthCheckRequest(service=SERVICE)
        answer = health_grpc.HealthStub(channel).Check(check)
        assert answer.status == health.HealthCheckResponse.SERVING
        database = reflection.ProtoReflectionDescriptorDatabase(channel)
        assert SERVICE in database.get_services()
        declared = database.FindFileContainingSymbol(SERVICE)
        assert [s.name for s in declared.service] == ["BatchInferenceService"]

        stub: Any = inference_grpc.BatchInferenceServiceStub(channel)
        listed = stub.List(
            inference.ListBatchInferencesRequest(folder_id=FOLDER), metadata=METADATA
        )
        assert list(listed.tasks) == [] and not listed.next_page_token


def test_the_ml_sdk_waits_on_a_batch_task(fake: FakeServer, client: textgen.Client) -> None:
    with warnings.catch_warnings():  # the package says it is deprecated in favour of its core
        warnings.simplefilter("ignore", UserWarning)
        ml_sdk: Any = pytest.importorskip(
            "yandex_cloud_ml_sdk", reason="yandex-cloud-ml-sdk is in the latest leg only"
        )
    prompts = client.datasets.create(["Say hello", "Count to three"])
    sdk = ml_sdk.YCloudML(
        folder_id=FOLDER,
        auth=KEY,
        endpoint=None,  # no endpoint discovery: every service at the emulator, in plaintext
        verify=False,
        service_map={"ai-foundation-models": fake.target},
    )
    model = sdk.models.completions("text-bison-001")
    task = model.batch.run_deferred(prompts.name.removeprefix("datasets/"))
    assert task.get_status().name in ("CREATED", "PENDING")

    # The waiter polls Describe until the task is done, then reads the result dataset
    # through Yandex's DatasetService, which the emulator does not offer.
    with pytest.raises(Exception, match="DatasetService/Describe is not offered") as caught:
        task.wait(poll_interval=0.01)
    assert "UNIMPLEMENTED" in str(caught.value)
    polls = [call for call in fake.journal.calls() if call.path == f"/{SERVICE}/Describe"]
    assert len(polls) >= 3  # it waited through the task's stages

    info = task.get_task_info()
    job = client.batches.get(task.task_id)
    assert info.status.name == "COMPLETED" and job.status == textgen.BatchStatus.COMPLETED
    assert f"datasets/{info.result_dataset_id}" == job.result_dataset
    # The SDK names no folder on Describe, and the emulator keeps none with a task: the
    # model is named as ours then (a List, which names the folder, gives the gpt:// URI).
    assert model.uri == f"gpt://{FOLDER}/text-bison-001/latest"
    assert (info.model_uri, info.folder_id) == ("models/text-bison-001", None)
    [listed] = sdk.batch.list_info()
    assert (listed.task_id, listed.model_uri) == (task.task_id, model.uri)
    task.delete()
    with pytest.raises(errors.NotFound):
        client.batches.get(task.task_id)


# The official calls these tests make, for the README's table (official_calls.py).
ROWS = [
    Row(
        "`BatchInferenceServiceStub.Describe` until COMPLETED",
        "BatchInferenceService/Describe",
        "works: a `BatchInferenceTask` (status, times, created_by, source and result dataset "
        "ids, model URI: `gpt://` when the call names its folder in `x-folder-id`), as "
        "`textgen.Client` reads the task",
        "test_describe_until_completed_matches_our_client",
    ),
    Row(
        "`BatchInferenceServiceStub.List` with `page_size` and the `status` filter",
        "BatchInferenceService/List",
        "works: the caller's tasks in creation order, a page at a time; a token is bound to its "
        "listing",
        "test_list_pages_and_the_status_filter_match_our_client",
    ),
    Row(
        "`BatchInferenceServiceStub.Cancel` and `Delete`",
        "BatchInferenceService/Cancel, Delete",
        "works: CANCELED with `errors.status` CANCELLED; Delete refuses a running task "
        "(FAILED_PRECONDITION), then NOT_FOUND with ResourceInfo",
        "test_cancel_a_paced_task_then_delete_it",
    ),
    Row(
        "`BatchInferenceServiceStub` with a bad or missing field",
        "BatchInferenceService/*",
        "INVALID_ARGUMENT with BadRequest on `task_id`, `folder_id` or `page_size`; NOT_FOUND "
        "for another principal's task",
        "test_errors_name_the_field_or_the_task",
    ),
    Row(
        "ML SDK (`yandex-cloud-ml-sdk`): `model.batch.run_deferred`, `task.wait()`, "
        "`get_task_info`, `sdk.batch.list_info`, `task.delete`",
        "Completion, BatchInferenceService/*",
        "works, except the last step of `wait()`: it polls Describe to COMPLETED, then reads the "
        "result through Yandex's DatasetService, which is not offered (UNIMPLEMENTED)",
        "test_the_ml_sdk_waits_on_a_batch_task",
    ),
]
