"""Every failure becomes a typed textgen.errors class with its details parsed."""

from __future__ import annotations

import socket

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from tests.client.conftest import Api
from tests.client.stub_server import StubServer, status
from textgen import errors
from textgen.resources.models import GET_MODEL

APIS = ("textgen", "generativelanguage", "yandex")


async def test_invalid_argument_carries_field_violations(api: Api, stub: StubServer) -> None:
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="name", description="is empty")
        ]
    )
    info = error_details_pb2.ErrorInfo(reason="EMPTY_NAME", domain="textgen.dev")
    stub.script(GET_MODEL, status(grpc.StatusCode.INVALID_ARGUMENT, "bad name", bad, info))
    with pytest.raises(errors.InvalidArgument) as caught:
        await api(lambda c: c.models.get("x"))
    error = caught.value
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == "bad name"
    assert [(v.field, v.description) for v in error.field_violations] == [("name", "is empty")]
    assert error.reason == "EMPTY_NAME"
    assert error.detail(error_details_pb2.ErrorInfo) == info
    # The path the call took: ours, or the flavour's name for it.
    service = "textgen.v1" if api.flavour == "textgen" else "google.ai.generativelanguage.v1beta"
    assert error.method == f"/{service}.ModelService/GetModel"
    assert error.retry_delay is None
    assert "INVALID_ARGUMENT" in str(error)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.NOT_FOUND, errors.NotFound),
        (grpc.StatusCode.ALREADY_EXISTS, errors.AlreadyExists),
        (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied),
        (grpc.StatusCode.UNAUTHENTICATED, errors.Unauthenticated),
        (grpc.StatusCode.FAILED_PRECONDITION, errors.FailedPrecondition),
        (grpc.StatusCode.ABORTED, errors.Aborted),
        (grpc.StatusCode.OUT_OF_RANGE, errors.OutOfRange),
        (grpc.StatusCode.INTERNAL, errors.Internal),
        (grpc.StatusCode.DATA_LOSS, errors.DataLoss),
        (grpc.StatusCode.UNKNOWN, errors.Unknown),
        (grpc.StatusCode.CANCELLED, errors.Cancelled),
    ],
)
async def test_each_status_has_its_class(
    api: Api, stub: StubServer, code: grpc.StatusCode, cls: type[errors.APIError]
) -> None:
    stub.script(GET_MODEL, status(code, "nope"))
    with pytest.raises(cls) as caught:
        await api(lambda c: c.models.get("x"))
    assert caught.value.code == code
    assert isinstance(caught.value, errors.APIError)


async def test_unimplemented_method(api: Api) -> None:
    with pytest.raises(errors.Unimplemented):
        await api(lambda c: c.models.get("x"))


async def test_retry_info_is_read(api: Api, stub: StubServer) -> None:
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=30))
    stub.script(GET_MODEL, status(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota", retry))
    with pytest.raises(errors.ResourceExhausted) as caught:
        await api(lambda c: c.models.get("x"))
    assert caught.value.retry_delay == 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_unreachable_server_names_the_target(api: Api) -> None:
    target = f"127.0.0.1:{_free_port()}"
    other = Api(api.kind, target, timeout=5)
    try:
        with pytest.raises(errors.ConnectionError) as caught:
            await other(lambda c: c.models.get("x"))
    finally:
        await other.close()
    assert target in str(caught.value)
    assert isinstance(caught.value, errors.Unavailable)


def test_operation_error_exposes_status() -> None:
    bad = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field="f", description="d")]
    )
    failure = errors.OperationError("operations/1", status(grpc.StatusCode.ABORTED, "boom", bad))
    assert failure.code == grpc.StatusCode.ABORTED
    assert failure.field_violations[0].field == "f"
    assert "operations/1" in str(failure)
