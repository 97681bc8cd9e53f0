"""The assembled server: every service is registered and reported SERVING."""

from __future__ import annotations

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from textgen.server.app import SERVICE_NAMES


async def test_health_reports_every_service(channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for name in ("", *SERVICE_NAMES):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_operations_service_is_wired(channel: grpc.aio.Channel) -> None:
    stub = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
    listed = await stub.ListOperations(operations_pb2.ListOperationsRequest())
    assert not listed.operations
