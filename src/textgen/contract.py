"""Reflection over the textgen.v1 contract: its services, methods and long-running types."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from google.longrunning import operations_proto_pb2
from google.protobuf import descriptor

from textgen.v1 import (
    dataset_service_pb2,
    model_service_pb2,
    text_generation_batch_service_pb2,
    tuned_model_service_pb2,
)

SERVICE_MODULES = (
    model_service_pb2,
    tuned_model_service_pb2,
    dataset_service_pb2,
    text_generation_batch_service_pb2,
)
OPERATION = "google.longrunning.Operation"


def proto_path() -> Path:
    """The include root of the contract's .proto files, to pass to protoc as `-I`.

    An installed package carries them under `textgen/protos/` (for example
    `textgen/protos/textgen/v1/model_service.proto`); a source checkout has them in `protos/`.
    Their googleapis imports ship with googleapis-common-protos in site-packages.
    """
    package = Path(__file__).resolve().parent
    for root in (package / "protos", package.parents[1] / "protos"):
        if (root / "textgen" / "v1").is_dir():
            return root
    raise FileNotFoundError(f"the textgen .proto files are not installed beside {package}")


def services() -> list[descriptor.ServiceDescriptor]:
    """Every service of the contract, in the order of SERVICE_MODULES."""
    return [
        service
        for module in SERVICE_MODULES
        for service in module.DESCRIPTOR.services_by_name.values()
    ]


def streaming_kind(method: descriptor.MethodDescriptor) -> str:
    """One of 'unary', 'server-streaming', 'client-streaming' or 'bidi-streaming'."""
    kinds = {
        (False, False): "unary",
        (False, True): "server-streaming",
        (True, False): "client-streaming",
        (True, True): "bidi-streaming",
    }
    return kinds[(method.client_streaming, method.server_streaming)]


def operation_info(method: descriptor.MethodDescriptor) -> tuple[str, str] | None:
    """The fully qualified (response, metadata) types of a long-running method, else None."""
    if method.output_type.full_name != OPERATION:
        return None
    info = operations_proto_pb2.OperationInfo()
    info.CopyFrom(method_extension(method, operations_proto_pb2.operation_info))
    package = method.containing_service.file.package

    def qualify(name: str) -> str:
        return name if "." in name else f"{package}.{name}"

    return qualify(info.response_type), qualify(info.metadata_type)


def method_extension(method: descriptor.MethodDescriptor, field: descriptor.FieldDescriptor) -> Any:  # noqa: ANN401  (the extension's message type depends on `field`)
    """The value of a method option extension such as google.api.http.

    The googleapis stubs type extensions as plain field descriptors, which the protobuf stubs
    do not accept as keys, hence the looser mapping type here.
    """
    extensions = cast("Mapping[descriptor.FieldDescriptor, Any]", method.GetOptions().Extensions)
    return extensions[field]


def describe_method(method: descriptor.MethodDescriptor) -> str:
    """A one-line summary such as 'GetModel(GetModelRequest) -> Model [unary]'."""
    line = (
        f"{method.name}({method.input_type.name}) -> {method.output_type.full_name} "
        f"[{streaming_kind(method)}]"
    )
    lro = operation_info(method)
    if lro is not None:
        line += f" long-running: response {lro[0]}, metadata {lro[1]}"
    return line
