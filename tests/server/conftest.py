"""Real grpc.aio servers for the servicer tests, and helpers to read rich errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import grpc
import pytest
from google.rpc import error_details_pb2
from textgen.v1 import (
    dataset_service_pb2_grpc,
    model_service_pb2_grpc,
    tuned_model_service_pb2_grpc,
)

from tests.server.env import env  # noqa: F401  (the `env` fixture, for every server test)
from textgen.errors import status_of
from textgen.server.app import Running, serve
from textgen.server.clock import ManualClock
from textgen.server.lro.operations import Operations
from textgen.server.state import IdGenerator, ServerState
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.pacing import ProgressionPacer


@pytest.fixture
def state() -> ServerState:
    return ServerState(engine=FakeEngine(seed=0), clock=ManualClock(), ids=IdGenerator(0))


@pytest.fixture
async def running(state: ServerState) -> AsyncIterator[Running]:
    # Jobs paced as the emulator paces them by default: 3 seconds of the manual clock.
    pacer = ProgressionPacer(state.clock)
    operations = Operations(state.clock, state.stores.operations, pacer=pacer)
    server = await serve(state, operations=operations)
    try:
        yield server
    finally:
        await server.stop(None)


@pytest.fixture
async def channel(running: Running) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as chan:
        yield chan


# mypy-protobuf types a stub by its class, not by its channel: on the grpc.aio channel of these
# fixtures it is the AsyncStub.


@pytest.fixture
def models(channel: grpc.aio.Channel) -> model_service_pb2_grpc.ModelServiceAsyncStub:
    return cast(
        "model_service_pb2_grpc.ModelServiceAsyncStub",
        model_service_pb2_grpc.ModelServiceStub(channel),
    )


@pytest.fixture
def tuned(channel: grpc.aio.Channel) -> tuned_model_service_pb2_grpc.TunedModelServiceAsyncStub:
    return cast(
        "tuned_model_service_pb2_grpc.TunedModelServiceAsyncStub",
        tuned_model_service_pb2_grpc.TunedModelServiceStub(channel),
    )


@pytest.fixture
def datasets(channel: grpc.aio.Channel) -> dataset_service_pb2_grpc.DatasetServiceAsyncStub:
    return cast(
        "dataset_service_pb2_grpc.DatasetServiceAsyncStub",
        dataset_service_pb2_grpc.DatasetServiceStub(channel),
    )


def details(error: grpc.aio.AioRpcError) -> list[object]:
    """The unpacked google.rpc details of a failed call."""
    status = status_of(error)
    assert status is not None, "the error carries no google.rpc.Status"
    found: list[object] = []
    for packed in status.details:
        for kind in (
            error_details_pb2.BadRequest,
            error_details_pb2.ResourceInfo,
            error_details_pb2.ErrorInfo,
            error_details_pb2.PreconditionFailure,
        ):
            message = kind()
            if packed.Unpack(message):  # False, and the message untouched, for another type
                found.append(message)
    return found


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The field paths of the BadRequest in a failed call."""
    return [
        violation.field
        for detail in details(error)
        if isinstance(detail, error_details_pb2.BadRequest)
        for violation in detail.field_violations
    ]


def resource_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ResourceInfo:
    """The ResourceInfo of a failed call."""
    for detail in details(error):
        if isinstance(detail, error_details_pb2.ResourceInfo):
            return detail
    raise AssertionError("no ResourceInfo")
