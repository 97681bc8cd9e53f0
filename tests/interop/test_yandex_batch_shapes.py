"""textgen.yandex_batch declares yandex.cloud.ai.batch_inference.v1's messages and service
field for field: every message, nested message, enum and method compared with yandexcloud's
own descriptors (latest leg only, where yandexcloud is installed)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from textgen import _protobuf, yandex_batch

pytest.importorskip(
    "yandex.cloud.ai.batch_inference.v1.batch_inference_service_pb2",
    reason="yandexcloud is installed (with --no-deps) in the latest leg only",
)

UPSTREAM = "yandex.cloud.ai.batch_inference.v1"
_MODULES = ("inference_options_pb2", "batch_inference_task_pb2", "batch_inference_service_pb2")


def _theirs() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in _MODULES:
        module: Any = importlib.import_module(f"{UPSTREAM}.{name}")
        found.update(module.DESCRIPTOR.message_types_by_name)
    return found


def _local(full_name: str, package: str) -> str:
    return full_name.removeprefix(package + ".")


def enum_shape(enum: Any) -> list[tuple[str, int]]:
    """An enum's values as (name, number)."""
    return [(value.name, value.number) for value in enum.values]


def message_shape(message: Any, package: str) -> dict[str, object]:
    """Everything of a message that the wire and the generated code depend on, with type
    names relative to `package`."""
    fields = []
    for field in message.fields:
        referred = field.message_type or field.enum_type
        fields.append(
            (
                field.name,
                field.number,
                field.type,
                _protobuf.is_repeated(field),
                field.containing_oneof.name if field.containing_oneof else None,
                _local(referred.full_name, package) if referred is not None else None,
            )
        )
    return {
        "fields": fields,
        "map_entry": message.GetOptions().map_entry,
        "nested": {nested.name: message_shape(nested, package) for nested in message.nested_types},
        "enums": {enum.name: enum_shape(enum) for enum in message.enum_types},
    }


def test_every_message_is_yandex_field_for_field() -> None:
    theirs = _theirs()
    ours = yandex_batch.DESCRIPTOR.message_types_by_name
    assert sorted(ours) == sorted(theirs)
    for name, message in ours.items():
        assert message_shape(message, yandex_batch.PACKAGE) == message_shape(
            theirs[name], UPSTREAM
        ), name


def test_the_batch_completion_request_is_not_the_foundation_models_one() -> None:
    # The two requests share a name and differ in numbers: a sanity check of the comparison.
    from textgen.v1 import text_generation_batch_service_pb2 as ours_fm  # noqa: PLC0415

    mirrored = message_shape(yandex_batch.BatchCompletionRequest.DESCRIPTOR, yandex_batch.PACKAGE)
    foundation = message_shape(ours_fm.BatchCompletionRequest.DESCRIPTOR, "textgen.v1")
    assert mirrored["fields"] != foundation["fields"]


def test_the_service_is_yandex_method_for_method() -> None:
    module: Any = importlib.import_module(f"{UPSTREAM}.batch_inference_service_pb2")
    theirs = module.DESCRIPTOR.services_by_name["BatchInferenceService"]
    ours = yandex_batch.DESCRIPTOR.services_by_name["BatchInferenceService"]

    def shape(service: Any, package: str) -> list[tuple[object, ...]]:
        return [
            (
                method.name,
                _local(method.input_type.full_name, package),
                _local(method.output_type.full_name, package),
                method.client_streaming,
                method.server_streaming,
            )
            for method in service.methods
        ]

    assert shape(ours, yandex_batch.PACKAGE) == shape(theirs, UPSTREAM)
    assert theirs.full_name == yandex_batch.UPSTREAM_SERVICE
