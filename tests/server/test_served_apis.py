"""A server serves only the API flavours it is given: `serve(apis=...)` and
`FakeServer(apis=...)` answer those names alone, and health checking and reflection list
exactly them."""

from __future__ import annotations

import grpc
import pytest
from google.longrunning import operations_pb2
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from textgen.v1 import model_pb2, model_service_pb2

from textgen import apis
from textgen.testing import FakeServer

GL = "google.ai.generativelanguage.v1beta"
OURS = {
    "textgen.v1.ModelService",
    "textgen.v1.TunedModelService",
    "textgen.v1.DatasetService",
    "textgen.v1.TextGenerationBatchService",
    "google.longrunning.Operations",
}
GOOGLE = {
    f"{GL}.GenerativeService",
    f"{GL}.TextService",
    f"{GL}.DiscussService",
    f"{GL}.ModelService",
    "google.longrunning.Operations",
}
YANDEX = {
    "yandex.cloud.ai.foundation_models.v1.TextGenerationBatchService",
    "yandex.cloud.operation.OperationService",
    "yandex.cloud.ai.batch_inference.v1.BatchInferenceService",
}
INFRA = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
SERVED = [
    (("textgen",), OURS),
    (("generativelanguage",), GOOGLE),
    (("yandex",), YANDEX),
    (("textgen", "yandex"), OURS | YANDEX),
    (apis.ALL, OURS | GOOGLE | YANDEX),
]


def listed(channel: grpc.Channel) -> set[str]:
    reflect = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (answer,) = reflect(iter([request]), timeout=10)
    return {service.name for service in answer.list_services_response.service}


def serving(channel: grpc.Channel, name: str) -> bool:
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    try:
        reply = check(health_pb2.HealthCheckRequest(service=name), timeout=10)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.NOT_FOUND
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def get_model(channel: grpc.Channel, service: str) -> grpc.StatusCode:
    call = channel.unary_unary(
        f"/{service}/GetModel",
        request_serializer=model_service_pb2.GetModelRequest.SerializeToString,
        response_deserializer=model_pb2.Model.FromString,
    )
    try:
        call(model_service_pb2.GetModelRequest(name="models/text-bison-001"), timeout=10)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize(("served", "names"), SERVED, ids=["+".join(s) for s, _ in SERVED])
def test_health_and_reflection_list_exactly_the_names_served(
    served: tuple[str, ...], names: set[str]
) -> None:
    with FakeServer(apis=served) as fake, fake.channel() as channel:
        assert fake.apis == tuple(a for a in apis.ALL if a in served)
        assert listed(channel) == names | INFRA
        for name in OURS | GOOGLE | YANDEX:
            assert serving(channel, name) == (name in names), name


def test_a_flavour_alone_does_not_answer_our_names() -> None:
    with FakeServer(apis=("generativelanguage",)) as fake, fake.channel() as channel:
        assert get_model(channel, f"{GL}.ModelService") == grpc.StatusCode.OK
        assert get_model(channel, "textgen.v1.ModelService") == grpc.StatusCode.UNIMPLEMENTED
        # Google's operations mixin has no WaitOperation, so a Google-only server has none.
        wait = channel.unary_unary(
            "/google.longrunning.Operations/WaitOperation",
            request_serializer=operations_pb2.WaitOperationRequest.SerializeToString,
            response_deserializer=operations_pb2.Operation.FromString,
        )
        with pytest.raises(grpc.RpcError) as caught:
            wait(operations_pb2.WaitOperationRequest(name="operations/x"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        listing = channel.unary_unary(
            "/google.longrunning.Operations/ListOperations",
            request_serializer=operations_pb2.ListOperationsRequest.SerializeToString,
            response_deserializer=operations_pb2.ListOperationsResponse.FromString,
        )
        assert listing(operations_pb2.ListOperationsRequest(name="operations"), timeout=10)


def test_our_names_alone_leave_the_upstream_paths_unserved() -> None:
    with FakeServer(apis=("textgen",)) as fake, fake.channel() as channel:
        assert get_model(channel, "textgen.v1.ModelService") == grpc.StatusCode.OK
        assert get_model(channel, f"{GL}.ModelService") == grpc.StatusCode.UNIMPLEMENTED


def test_unknown_or_no_flavours_are_refused_at_once() -> None:
    with pytest.raises(ValueError, match="unknown API 'grpc'"):
        FakeServer(apis=("grpc",))
    with pytest.raises(ValueError, match="at least one"):
        FakeServer(apis=())
