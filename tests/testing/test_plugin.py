"""The pytest plugin's fixtures and marker."""

from __future__ import annotations

from typing import cast

import grpc
import pytest
from textgen.v1 import model_service_pb2, model_service_pb2_grpc

from tests.testing import requests
from textgen.server.clock import ManualClock
from textgen.testing.fake_server import FakeServer


def test_sync_channel(textgen_server: FakeServer, textgen_channel: grpc.Channel) -> None:
    stub = model_service_pb2_grpc.ModelServiceStub(textgen_channel)
    assert stub.GenerateText(requests.generate_text()).candidates
    textgen_server.journal.assert_called("GenerateText", times=1)


async def test_aio_channel(
    textgen_aio_server: FakeServer, textgen_aio_channel: grpc.aio.Channel
) -> None:
    # mypy-protobuf types a stub by its class, not by its channel: on a grpc.aio channel it is
    # the AsyncStub.
    stub = cast(
        "model_service_pb2_grpc.ModelServiceAsyncStub",
        model_service_pb2_grpc.ModelServiceStub(textgen_aio_channel),
    )
    textgen_aio_server.script("GetModel").fail(grpc.StatusCode.UNAVAILABLE)
    request = model_service_pb2.GetModelRequest(name=requests.TEXT_MODEL)
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await stub.GetModel(request)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert (await stub.GetModel(request)).name == requests.TEXT_MODEL


@pytest.mark.textgen_server(clock="manual", seed=5, api_keys={"key": "alice"})
def test_marker_configures_the_server(textgen_server: FakeServer) -> None:
    assert isinstance(textgen_server.clock, ManualClock)
    assert textgen_server.seed == 5
    assert textgen_server.state.api_keys == {"key": "alice"}


def test_each_test_gets_a_fresh_server(textgen_server: FakeServer) -> None:
    assert textgen_server.journal.calls() == []


@pytest.mark.textgen_server(clock="manual")
async def test_aio_server_runs_on_the_test_loop(
    textgen_aio_server: FakeServer, textgen_aio_channel: grpc.aio.Channel
) -> None:
    assert isinstance(textgen_aio_server.clock, ManualClock)
    await textgen_aio_server.advance_async(1.0)  # the async form works on this loop
    stub = cast(
        "model_service_pb2_grpc.ModelServiceAsyncStub",
        model_service_pb2_grpc.ModelServiceStub(textgen_aio_channel),
    )
    request = model_service_pb2.GetModelRequest(name=requests.TEXT_MODEL)
    assert (await stub.GetModel(request)).name == requests.TEXT_MODEL
    textgen_aio_server.journal.assert_called("GetModel", times=1)
