"""Every service and method of the contract exists with the right streaming kind and annotations."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2
from google.protobuf.descriptor import MethodDescriptor

from tests.contract.conftest import find_message, find_method, find_service
from textgen import contract

U, SS, CS = "unary", "server-streaming", "client-streaming"

EXPECTED: dict[str, dict[str, str]] = {
    "textgen.v1.ModelService": {
        "GetModel": U,
        "ListModels": U,
        "GenerateText": U,
        "StreamGenerateText": SS,
        "CountTextTokens": U,
        "GenerateMessage": U,
        "CountMessageTokens": U,
        "EmbedText": U,
        "BatchEmbedText": U,
        "GenerateContent": U,
        "StreamGenerateContent": SS,
        "CountTokens": U,
        "EmbedContent": U,
        "BatchEmbedContents": U,
    },
    "textgen.v1.TunedModelService": {
        "CreateTunedModel": U,
        "GetTunedModel": U,
        "ListTunedModels": U,
        "UpdateTunedModel": U,
        "DeleteTunedModel": U,
    },
    "textgen.v1.DatasetService": {
        "CreateDataset": U,
        "UploadDataset": CS,
        "GetDataset": U,
        "ListDatasets": U,
        "DeleteDataset": U,
        "ListDatasetRows": U,
        "StreamDatasetRows": SS,
    },
    "textgen.v1.TextGenerationBatchService": {"Completion": U},
}

LONG_RUNNING = {
    "textgen.v1.TunedModelService.CreateTunedModel": (
        "textgen.v1.TunedModel",
        "textgen.v1.CreateTunedModelMetadata",
    ),
    "textgen.v1.TextGenerationBatchService.Completion": (
        "textgen.v1.BatchCompletionResponse",
        "textgen.v1.BatchCompletionMetadata",
    ),
}

ALL_METHODS = [method for service in contract.services() for method in service.methods]


def test_services_are_exactly_the_contract() -> None:
    assert {service.full_name for service in contract.services()} == set(EXPECTED)


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_methods_and_streaming_kinds(service: str) -> None:
    descriptor = find_service(service)
    actual = {method.name: contract.streaming_kind(method) for method in descriptor.methods}
    assert actual == EXPECTED[service]


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.full_name)
def test_operation_info_names_existing_types(method: MethodDescriptor) -> None:
    info = contract.operation_info(method)
    if method.full_name not in LONG_RUNNING:
        assert info is None, f"{method.full_name} returns an Operation but is not expected to"
        return
    assert info == LONG_RUNNING[method.full_name]
    for type_name in info:
        assert find_message(type_name).full_name == type_name


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.full_name)
def test_http_rule_unless_client_streaming(method: MethodDescriptor) -> None:
    rule = contract.method_extension(method, annotations_pb2.http)
    if method.client_streaming:
        assert not rule.WhichOneof("pattern"), "client streaming has no REST mapping"
        return
    path = getattr(rule, rule.WhichOneof("pattern") or "get")
    assert path.startswith("/"), f"{method.full_name} has no google.api.http rule"


def test_generation_accepts_tuned_models_over_rest() -> None:
    """Generation RPCs bind both models/* and tunedModels/* routes, as upstream does."""
    for name in ("GenerateText", "GenerateContent", "StreamGenerateContent"):
        method = find_method(f"textgen.v1.ModelService.{name}")
        rule = contract.method_extension(method, annotations_pb2.http)
        routes = [rule.post, *(extra.post for extra in rule.additional_bindings)]
        assert any("{model=models/*}" in r for r in routes)
        assert any("{model=tunedModels/*}" in r for r in routes)
