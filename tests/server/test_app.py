"""The assembled server: every service is registered and reported SERVING."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc
from grpc_health.v1 import health, health_pb2
from grpc_reflection.v1alpha import reflection

from textgen import contract
from textgen._extras import MissingExtraError
from textgen.server.app import HEALTH_SERVICE, REFLECTION_SERVICE, SERVICE_NAMES, serve
from textgen.server.state import ServerState


async def test_health_reports_every_service(channel: grpc.aio.Channel) -> None:
    # What HealthStub(channel).Check is; the grpc_health stubs do not declare it.
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    for name in ("", *SERVICE_NAMES):
        reply = await check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_the_service_names_are_the_contracts() -> None:
    # app.py spells most of them out, so that their modules load with their servicers.
    ours = tuple(service.full_name for service in contract.services())
    operations = operations_pb2.DESCRIPTOR.services_by_name["Operations"].full_name
    assert (*ours, operations) == SERVICE_NAMES


def test_the_health_and_reflection_names_are_those_of_grpc() -> None:
    # The server names them without importing either (reflection is built on its first call).
    assert HEALTH_SERVICE == health.SERVICE_NAME
    assert REFLECTION_SERVICE == reflection.SERVICE_NAME


async def test_reflection_without_the_server_extra_fails_at_start(
    state: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reflection is imported on its first call, but a missing extra still stops the start.
    monkeypatch.setitem(sys.modules, "grpc_reflection", None)
    with pytest.raises(MissingExtraError, match="'server' extra"):
        await serve(state, health=False, reflection=True)


async def test_operations_service_is_wired(channel: grpc.aio.Channel) -> None:
    stub = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
    listed = await stub.ListOperations(operations_pb2.ListOperationsRequest())
    assert not listed.operations


# Started in a fresh interpreter, so that what is imported shows what the server loaded.
_FIRST_CALLS = """
import asyncio, sys
import grpc
from textgen.server.app import serve
from textgen.server.state import ServerState
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.v1 import dataset_service_pb2, tuned_model_service_pb2

DATASETS = "textgen.server.services.dataset_service"
TUNED = "textgen.server.services.tuned_model_service"


async def main():
    running = await serve(ServerState(engine=FakeEngine()), health=False, reflection=False)
    print(DATASETS in sys.modules, TUNED in sys.modules)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        for _ in range(2):
            listed = await channel.unary_unary(
                "/textgen.v1.DatasetService/ListDatasets",
                request_serializer=dataset_service_pb2.ListDatasetsRequest.SerializeToString,
                response_deserializer=dataset_service_pb2.ListDatasetsResponse.FromString,
            )(dataset_service_pb2.ListDatasetsRequest())
            print(len(listed.datasets), DATASETS in sys.modules, TUNED in sys.modules)
        try:
            await channel.unary_unary("/textgen.v1.DatasetService/NoSuchMethod")(b"")
        except grpc.aio.AioRpcError as error:
            print(error.code().name)
    await running.stop(None)


asyncio.run(main())
"""


def test_other_services_are_imported_and_built_on_their_first_call() -> None:
    found = subprocess.run(
        [sys.executable, "-c", _FIRST_CALLS], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert found[:4] == ["False False", "0 True False", "0 True False", "UNIMPLEMENTED"]
