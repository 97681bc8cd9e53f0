"""Every message of the contract survives binary and JSON encoding with every field set."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from tests.contract.conftest import PACKAGE, find_file, find_message
from textgen import contract
from textgen._protobuf import is_repeated

_FILES = [
    "citation",
    "content",
    "dataset",
    "dataset_service",
    "generation",
    "message",
    "model",
    "model_service",
    "safety",
    "text",
    "text_generation_batch_service",
    "tuned_model",
    "tuned_model_service",
]


def _nested(message: Descriptor) -> list[Descriptor]:
    found = []
    for nested in message.nested_types:
        if not nested.GetOptions().map_entry:
            found.append(nested)
            found.extend(_nested(nested))
    return found


MESSAGES = sorted(
    (
        message
        for name in _FILES
        for top in find_file(f"textgen/v1/{name}.proto").message_types_by_name.values()
        for message in (top, *_nested(top))
    ),
    key=lambda m: m.full_name,
)

_SCALAR_SAMPLES = {
    FieldDescriptor.TYPE_STRING: "sample",
    FieldDescriptor.TYPE_BYTES: b"\x00\x01\xff",
    FieldDescriptor.TYPE_BOOL: True,
    FieldDescriptor.TYPE_INT32: -7,
    FieldDescriptor.TYPE_INT64: 1 << 40,
    FieldDescriptor.TYPE_FLOAT: 0.5,
    FieldDescriptor.TYPE_DOUBLE: 0.25,
}


def _fill_well_known(message: Message) -> bool:
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp" or name == "google.protobuf.Duration":
        message.seconds, message.nanos = 1_700_000_000, 5000  # type: ignore[attr-defined]
    elif name == "google.protobuf.Struct":
        message.update({"key": "value", "n": 2.0, "nested": {"ok": True}})  # type: ignore[attr-defined]
    elif name == "google.protobuf.Value":
        message.string_value = "v"  # type: ignore[attr-defined]
    elif name == "google.protobuf.FieldMask":
        message.paths.append("display_name")  # type: ignore[attr-defined]
    elif name == "google.protobuf.Any":
        prompt = GetMessageClass(find_message(f"{PACKAGE}.TextPrompt"))(text="x")
        message.Pack(prompt)  # type: ignore[attr-defined]
    elif name == "google.rpc.Status":
        message.code, message.message = 5, "missing"  # type: ignore[attr-defined]
    else:
        return False
    return True


def fill(message: Message, descriptor: Descriptor, depth: int = 0) -> Message:
    """Set every field (the last member of each oneof wins), recursing three levels.

    `descriptor` is the message's own descriptor. It is passed in rather than read from
    `message.DESCRIPTOR`, which newer typing stubs describe as either of two descriptor
    classes (the Python one or the upb one).
    """
    if _fill_well_known(message):
        return message
    for field in descriptor.fields:
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            value_field = entry.fields_by_name["value"]
            target = getattr(message, field.name)
            if value_field.message_type is None:
                target["k"] = _sample(value_field)
            elif depth < 3:
                fill(target["k"], value_field.message_type, depth + 1)
            continue
        if field.message_type is not None:
            if depth >= 3:
                continue
            if is_repeated(field):
                fill(getattr(message, field.name).add(), field.message_type, depth + 1)
            else:
                fill(getattr(message, field.name), field.message_type, depth + 1)
                if not getattr(message, field.name).ByteSize():
                    getattr(message, field.name).SetInParent()
        elif is_repeated(field):
            getattr(message, field.name).append(_sample(field))
        else:
            setattr(message, field.name, _sample(field))
    return message


def _sample(field: FieldDescriptor) -> object:
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return field.enum_type.values[-1].number
    return _SCALAR_SAMPLES[field.type]


@pytest.mark.parametrize("descriptor", MESSAGES, ids=lambda d: d.full_name)
def test_binary_and_json_round_trip(descriptor: Descriptor) -> None:
    cls = GetMessageClass(descriptor)
    original = fill(cls(), descriptor)
    assert original.ByteSize() > 0 or not descriptor.fields

    from_binary = cls.FromString(original.SerializeToString())
    assert from_binary == original

    from_json = json_format.Parse(json_format.MessageToJson(original), cls())
    assert from_json == original


def test_every_service_file_is_covered() -> None:
    covered = {d.file.name for d in MESSAGES}
    for service in contract.services():
        assert service.file.name in covered
