"""The request journal: methods, parsed requests, metadata, deadlines and assertions."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from textgen.v1 import (
    dataset_pb2,
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    model_service_pb2_grpc,
)

from tests.testing import requests
from textgen.testing.fake_server import FakeServer
from textgen.testing.methods import full_name

GENERATE_TEXT = "/textgen.v1.ModelService/GenerateText"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def test_records_method_request_metadata_and_deadline(fake: FakeServer) -> None:
    with fake.channel() as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        stub.GenerateText(requests.generate_text("first"))
        stub.GenerateText(
            requests.generate_text("second"), metadata=(("x-trace", "abc"),), timeout=30
        )

    calls = fake.journal.calls("GenerateText")
    assert [call.method for call in calls] == [GENERATE_TEXT, GENERATE_TEXT]
    assert [call.request.prompt.text for call in calls] == ["first", "second"]
    assert calls[0].time_remaining is None
    last = fake.journal.last("GenerateText")
    assert last is calls[1]
    assert last.short_method == "GenerateText"
    assert last.header("x-trace") == "abc"
    assert last.time_remaining is not None
    assert 0 < last.time_remaining <= 31  # the deadline, give or take transport slack


def test_records_every_message_of_a_request_stream(fake: FakeServer) -> None:
    header = dataset_service_pb2.UploadDatasetHeader(
        dataset=dataset_pb2.Dataset(display_name="Uploaded"), dataset_id="uploaded"
    )
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=[dataset_pb2.DatasetPrompt(text="Hi.")])
    messages = [
        dataset_service_pb2.UploadDatasetRequest(header=header),
        dataset_service_pb2.UploadDatasetRequest(chunk=chunk),
        dataset_service_pb2.UploadDatasetRequest(chunk=chunk),
    ]
    with fake.channel() as channel:
        dataset_service_pb2_grpc.DatasetServiceStub(channel).UploadDataset(iter(messages))

    call = fake.journal.assert_called("DatasetService/UploadDataset", times=1)[0]
    assert call.requests == messages


def test_assertion_helpers(fake: FakeServer) -> None:
    fake.journal.assert_not_called("GenerateText")
    with pytest.raises(AssertionError, match="no call to GenerateText"):
        fake.journal.last("GenerateText")
    with fake.channel() as channel:
        model_service_pb2_grpc.ModelServiceStub(channel).GenerateText(requests.generate_text())

    assert len(fake.journal.assert_called("GenerateText")) == 1
    assert fake.journal.assert_called(GENERATE_TEXT, times=1)
    with pytest.raises(AssertionError, match="called 1 time"):
        fake.journal.assert_called("GenerateText", times=2)
    with pytest.raises(AssertionError, match="recorded: GenerateText"):
        fake.journal.assert_not_called("GenerateText")
    with pytest.raises(AssertionError, match="was not called"):
        fake.journal.assert_called("CountTextTokens")
    assert [call.short_method for call in fake.journal] == ["GenerateText"]


def test_records_calls_that_fail(fake: FakeServer) -> None:
    with fake.channel() as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        with pytest.raises(grpc.RpcError):
            stub.GetDataset(dataset_service_pb2.GetDatasetRequest(name="datasets/missing"))
    assert fake.journal.last().request.name == "datasets/missing"


def test_method_names() -> None:
    assert full_name("GenerateText") == GENERATE_TEXT
    assert full_name("ModelService/GenerateText") == GENERATE_TEXT
    assert full_name("textgen.v1.ModelService/GenerateText") == GENERATE_TEXT
    assert full_name("WaitOperation") == "/google.longrunning.Operations/WaitOperation"
    assert full_name("/grpc.health.v1.Health/Check") == "/grpc.health.v1.Health/Check"
    with pytest.raises(ValueError, match="unknown method"):
        full_name("GenerateTxt")
