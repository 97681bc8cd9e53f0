"""The assembled server: every service is registered and reported SERVING."""

from __future__ import annotations

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from grpc_health.v1 import health_pb2

from textgen.server.app import SERVICE_NAMES


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


async def test_operations_service_is_wired(channel: grpc.aio.Channel) -> None:
    stub = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
    listed = await stub.ListOperations(operations_pb2.ListOperationsRequest())
    assert not listed.operations
