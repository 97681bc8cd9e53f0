"""`textgen serve` answers the Generative Language v1beta names too, reports them SERVING and
lists them in reflection (tests/interop runs Google's own client against the same server)."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from textgen.v1 import model_pb2, model_service_pb2

from tests.emulator.conftest import Emulator

GL = "google.ai.generativelanguage.v1beta"


def test_the_emulator_serves_the_upstream_names(emulator: Emulator) -> None:
    with grpc.insecure_channel(emulator.target) as channel:
        get_model = channel.unary_unary(
            f"/{GL}.ModelService/GetModel",
            request_serializer=model_service_pb2.GetModelRequest.SerializeToString,
            response_deserializer=model_pb2.Model.FromString,
        )
        request = model_service_pb2.GetModelRequest(name="models/text-bison-001")
        assert get_model(request, timeout=10).name == "models/text-bison-001"

        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        for name in ("GenerativeService", "ModelService", "TextService", "DiscussService"):
            reply = check(health_pb2.HealthCheckRequest(service=f"{GL}.{name}"), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        reflect = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=f"{GL}.TextService"),
        ]
        listed, described = list(reflect(iter(requests), timeout=10))
    names = {service.name for service in listed.list_services_response.service}
    assert f"{GL}.GenerativeService" in names
    assert described.file_descriptor_response.file_descriptor_proto

    with grpc.insecure_channel(emulator.target) as channel:
        answer: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            f"/{GL}.GenerativeService/GenerateAnswer"
        )
        with pytest.raises(grpc.RpcError) as refused:
            answer(b"", timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "is not offered by this emulator" in (refused.value.details() or "")
