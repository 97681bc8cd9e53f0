"""`textgen serve`: health, reflection, API keys and graceful shutdown of the standalone server."""

from __future__ import annotations

import signal
from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from textgen.v1 import model_service_pb2, model_service_pb2_grpc

from tests.emulator.conftest import Emulator
from textgen.cli import main

MODEL = "models/text-bison-001"


def test_health_is_serving(emulator: Emulator) -> None:
    with grpc.insecure_channel(emulator.target) as channel:
        # What HealthStub(channel).Check is; the grpc_health stubs do not declare it.
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        for service in ("", "textgen.v1.ModelService"):
            response = check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(emulator: Emulator) -> None:
    with grpc.insecure_channel(emulator.target) as channel:
        # What ServerReflectionStub(channel).ServerReflectionInfo is; the grpc_reflection stubs
        # type it as binascii.Incomplete (an exception class).
        reflect = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="textgen.v1.ModelService"
            ),
        ]
        listed, described = list(reflect(iter(requests), timeout=10))
    names = {service.name for service in listed.list_services_response.service}
    assert {
        "textgen.v1.ModelService",
        "textgen.v1.TunedModelService",
        "textgen.v1.DatasetService",
        "textgen.v1.TextGenerationBatchService",
        "google.longrunning.Operations",
        "grpc.health.v1.Health",
    } <= names
    assert described.file_descriptor_response.file_descriptor_proto


def test_sigterm_stops_it_cleanly(emulator: Emulator) -> None:
    with grpc.insecure_channel(emulator.target) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        assert stub.GetModel(model_service_pb2.GetModelRequest(name=MODEL), timeout=10).name
    assert emulator.stop(signal.SIGTERM) == 0


def test_sigint_stops_it_cleanly(emulator: Emulator) -> None:
    assert emulator.stop(signal.SIGINT) == 0


def test_api_keys_and_seed(emulator_factory: Callable[..., Emulator]) -> None:
    emulator = emulator_factory("--api-key", "secret=alice", "--seed", "3")
    with grpc.insecure_channel(emulator.target) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        request = model_service_pb2.GetModelRequest(name=MODEL)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetModel(request, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert stub.GetModel(request, metadata=(("x-api-key", "secret"),), timeout=10).name
    assert emulator.stop() == 0


def test_cli_rejects_a_malformed_api_key(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--api-key", "no-principal"])
    assert exited.value.code == 2
    assert "KEY=PRINCIPAL" in capsys.readouterr().err


def test_cli_without_a_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out
