"""`textgen serve --api ...` serves only the flavours named."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from grpc_reflection.v1alpha import reflection_pb2

from tests.emulator.conftest import Emulator
from textgen import apis
from textgen.cli import serve


def test_api_choices_are_the_flavours() -> None:
    assert serve._API_NAMES == apis.ALL


def test_serve_api_yandex_answers_yandex_names_only(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emulator = emulator_factory("--api", "yandex")
    with grpc.insecure_channel(emulator.target) as channel:
        reflect = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (answer,) = reflect(iter([request]), timeout=10)
    assert {s.name for s in answer.list_services_response.service} == {
        "yandex.cloud.ai.foundation_models.v1.TextGenerationBatchService",
        "yandex.cloud.operation.OperationService",
        "yandex.cloud.ai.batch_inference.v1.BatchInferenceService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
