"""Scripted faults and responses: N failures with details, delays, canned answers, fall-through."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from textgen.v1 import (
    model_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    text_pb2,
)

from tests.testing import requests
from textgen.errors import status_of
from textgen.server.rpc import errors
from textgen.testing.fake_server import FakeServer
from textgen.testing.faults import Fail, PassThrough, Respond

CANNED = model_service_pb2.GenerateTextResponse(
    candidates=[text_pb2.TextCompletion(output="canned")]
)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def stub(fake: FakeServer) -> Iterator[model_service_pb2_grpc.ModelServiceStub]:
    with fake.channel() as channel:
        yield model_service_pb2_grpc.ModelServiceStub(channel)


def _status(error: grpc.RpcError) -> status_pb2.Status:
    status = status_of(error)
    assert status is not None
    return status


def test_fails_n_times_with_details_then_falls_through(
    fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub
) -> None:
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2))
    script = fake.script("GenerateText").fail(
        grpc.StatusCode.UNAVAILABLE, "try later", details=[retry], times=2
    )
    assert script.remaining == 2

    for _ in range(2):
        with pytest.raises(grpc.RpcError) as failed:
            stub.GenerateText(requests.generate_text())
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert failed.value.details() == "try later"
        status = _status(failed.value)
        assert status.code == code_pb2.UNAVAILABLE
        found = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(found)
        assert found.retry_delay.seconds == 2

    assert stub.GenerateText(requests.generate_text()).candidates[0].output != "canned"
    assert script.remaining == 0
    fake.journal.assert_called("GenerateText", times=3)


def test_fail_with_a_service_error(
    fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub
) -> None:
    violation = errors.FieldViolation("prompt.text", "too long")
    fake.script("GenerateText").fail_with(errors.invalid_argument([violation]))
    with pytest.raises(grpc.RpcError) as failed:
        stub.GenerateText(requests.generate_text())
    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad_request = error_details_pb2.BadRequest()
    assert _status(failed.value).details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "prompt.text"


def test_canned_response_then_real_servicer(
    fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub
) -> None:
    fake.script("GenerateText").respond(CANNED, times=2)
    outputs = [stub.GenerateText(requests.generate_text()).candidates[0].output for _ in range(3)]
    assert outputs[:2] == ["canned", "canned"]
    assert outputs[2] != "canned"


def test_chained_sequence(fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    fake.script("GenerateText").fail(grpc.StatusCode.UNAVAILABLE).then_respond(CANNED)
    with pytest.raises(grpc.RpcError):
        stub.GenerateText(requests.generate_text())
    assert stub.GenerateText(requests.generate_text()).candidates[0].output == "canned"


def test_list_of_steps(fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    unavailable = errors.make_error(code_pb2.UNAVAILABLE, "down").status
    model = model_pb2.Model(name="models/scripted")
    fake.script("GetModel", [PassThrough(), Fail(unavailable), Respond(model)])
    request = model_service_pb2.GetModelRequest(name=requests.TEXT_MODEL)

    assert stub.GetModel(request).name == requests.TEXT_MODEL
    with pytest.raises(grpc.RpcError) as failed:
        stub.GetModel(request)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert stub.GetModel(request).name == "models/scripted"
    assert stub.GetModel(request).name == requests.TEXT_MODEL


def test_delay_exceeds_a_short_deadline_then_passes(
    fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub
) -> None:
    fake.script("GetModel").delay(30)
    request = model_service_pb2.GetModelRequest(name=requests.TEXT_MODEL)
    with pytest.raises(grpc.RpcError) as late:
        stub.GetModel(request, timeout=0.2)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert stub.GetModel(request, timeout=30).name == requests.TEXT_MODEL


def test_short_delay_then_the_servicer_answers(
    fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub
) -> None:
    fake.script("GenerateText").delay(0.05).then_respond(CANNED, delay=0.05)
    assert stub.GenerateText(requests.generate_text()).candidates[0].output != "canned"
    assert stub.GenerateText(requests.generate_text()).candidates[0].output == "canned"


def test_canned_stream(fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    parts = [
        model_service_pb2.GenerateTextResponse(candidates=[text_pb2.TextCompletion(output=text)])
        for text in ("one", "two")
    ]
    fake.script("StreamGenerateText").respond(parts)
    streamed = list(stub.StreamGenerateText(requests.generate_text()))
    assert [part.candidates[0].output for part in streamed] == ["one", "two"]
    assert len(list(stub.StreamGenerateText(requests.generate_text()))) >= 1


def test_fault_on_a_stream(fake: FakeServer, stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    fake.script("StreamGenerateText").fail(grpc.StatusCode.RESOURCE_EXHAUSTED)
    with pytest.raises(grpc.RpcError) as failed:
        list(stub.StreamGenerateText(requests.generate_text()))
    assert failed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "scripted RESOURCE_EXHAUSTED" in (failed.value.details() or "")


def test_scripts_are_per_method_and_validated(fake: FakeServer) -> None:
    assert fake.script("GenerateText") is fake.script("ModelService/GenerateText")
    assert fake.script("GenerateText") is not fake.script("GetModel")
    with pytest.raises(ValueError, match="at least 1"):
        fake.script("GetModel").respond(CANNED, times=0)
    with pytest.raises(ValueError, match="unknown method"):
        fake.script("NoSuchMethod")
