"""Retries: gRPC's policy for UNAVAILABLE, the client loop for RetryInfo, one total deadline."""

from __future__ import annotations

import json
import time
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, empty_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from textgen.v1 import model_pb2

import textgen.contract  # noqa: F401  (loads every service into the pool)
from tests.client.conftest import Api
from tests.client.stub_server import StubServer, status
from textgen import _calls, _transport, errors
from textgen._waiting import DELETE_OPERATION
from textgen.resources.models import GET_MODEL

MODEL = model_pb2.Model(name="models/x")
UNAVAILABLE = status(grpc.StatusCode.UNAVAILABLE, "try again")


def _retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(seconds * 1e9))
    return error_details_pb2.RetryInfo(retry_delay=delay)


async def test_unavailable_is_retried_up_to_max_retries(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, UNAVAILABLE, UNAVAILABLE, MODEL)
    assert await api(lambda c: c.models.get("x")) == MODEL
    assert len(stub.calls(GET_MODEL)) == 3


async def test_attempts_are_bounded(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, UNAVAILABLE)
    with pytest.raises(errors.Unavailable):
        await api(lambda c: c.models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 3  # max_retries=2


async def test_with_options_max_retries_zero(api: Api, stub: StubServer) -> None:
    stub.script(GET_MODEL, UNAVAILABLE, MODEL)
    with pytest.raises(errors.Unavailable):
        await api(lambda c: c.with_options(max_retries=0).models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 1
    assert await api(lambda c: c.models.get("x")) == MODEL  # the original keeps its retries


async def test_non_idempotent_calls_are_not_retried(api: Api, stub: StubServer) -> None:
    stub.script(DELETE_OPERATION, UNAVAILABLE, empty_pb2.Empty())
    with pytest.raises(errors.Unavailable):
        await api(lambda c: c.operations.delete("operations/1"))
    assert len(stub.calls(DELETE_OPERATION)) == 1


async def test_resource_exhausted_with_retry_info_is_retried(api: Api, stub: StubServer) -> None:
    quota = status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", _retry_info(0.05))
    stub.script(GET_MODEL, quota, quota, MODEL)
    assert await api(lambda c: c.models.get("x")) == MODEL
    assert len(stub.calls(GET_MODEL)) == 3


async def test_resource_exhausted_retries_are_bounded(api: Api, stub: StubServer) -> None:
    quota = status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", _retry_info(0.01))
    stub.script(GET_MODEL, quota)
    with pytest.raises(errors.ResourceExhausted):
        await api(lambda c: c.with_options(max_retries=1).models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 2


async def test_resource_exhausted_without_retry_info_fails_at_once(
    api: Api, stub: StubServer
) -> None:
    stub.script(GET_MODEL, status(grpc.StatusCode.RESOURCE_EXHAUSTED, "too big"), MODEL)
    with pytest.raises(errors.ResourceExhausted):
        await api(lambda c: c.models.get("x"))
    assert len(stub.calls(GET_MODEL)) == 1


async def test_retry_delay_longer_than_the_deadline_is_not_waited(
    api: Api, stub: StubServer
) -> None:
    stub.script(GET_MODEL, status(grpc.StatusCode.RESOURCE_EXHAUSTED, "q", _retry_info(60)), MODEL)
    with pytest.raises(errors.ResourceExhausted) as caught:
        await api(lambda c: c.with_options(timeout=2).models.get("x"))
    assert caught.value.retry_delay == 60
    assert len(stub.calls(GET_MODEL)) == 1


async def test_one_deadline_covers_every_attempt(api: Api, stub: StubServer) -> None:
    quota = status(grpc.StatusCode.RESOURCE_EXHAUSTED, "q", _retry_info(0.15))

    def slow(request: Any, context: Any) -> Any:
        time.sleep(0.15)
        context.abort_with_status(rpc_status.to_status(quota))

    stub.script(GET_MODEL, slow)
    with pytest.raises((errors.DeadlineExceeded, errors.ResourceExhausted)):
        await api(lambda c: c.with_options(timeout=0.5, max_retries=50).models.get("x"))
    # Each attempt takes >= 0.3 s with its pause; far fewer than 51 fit in 0.5 s.
    assert 1 <= len(stub.calls(GET_MODEL)) <= 3


async def test_server_delay_past_the_deadline(api: Api, stub: StubServer) -> None:
    def slow(request: Any, context: Any) -> Any:
        time.sleep(1.0)
        return MODEL

    stub.script(GET_MODEL, slow)
    with pytest.raises(errors.DeadlineExceeded):
        await api(lambda c: c.with_options(timeout=0.2).models.get("x"))


def test_service_config_lists_idempotent_methods_only() -> None:
    config = json.loads(_transport.service_config(2, _calls.idempotent_methods()))
    (entry,) = config["methodConfig"]
    names = {(n["service"], n["method"]) for n in entry["name"]}
    assert ("textgen.v1.ModelService", "GenerateContent") in names
    assert ("google.longrunning.Operations", "GetOperation") in names
    assert ("google.longrunning.Operations", "DeleteOperation") not in names
    assert entry["retryPolicy"]["maxAttempts"] == 3
    assert entry["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert json.loads(_transport.service_config(0, _calls.idempotent_methods())) == {
        "methodConfig": []
    }


def test_declared_methods_match_the_contract() -> None:
    pool = model_pb2.DESCRIPTOR.pool  # the default pool, which every textgen.v1 file is in
    for declared in _calls._REGISTRY.values():
        service = pool.FindServiceByName(declared.service)
        rpc = service.FindMethodByName(declared.name)
        assert rpc.input_type.full_name == declared.request_type.DESCRIPTOR.full_name
        assert rpc.output_type.full_name == declared.response_type.DESCRIPTOR.full_name
        assert rpc.server_streaming == declared.streaming
