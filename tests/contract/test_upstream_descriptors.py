"""Where the official google-ai-generativelanguage package is installed, our mirrored messages
and enums are compared with its descriptors directly, not only with the wire table.

That package builds its messages with proto-plus, which registers them in the default pool under
google.ai.generativelanguage.v1beta and renames fields that clash with Python words (`type_`,
`format_`, `license_`); the wire names are those without the trailing underscore. Its
descriptors carry no options, so field_behavior and JSON names are checked against the wire
table only (test_wire_compat).
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from textgen.v1 import model_pb2

from tests.contract.conftest import PACKAGE, find_enum
from tests.contract.test_wire_compat import OMITTED, OMITTED_ENUM_VALUES, OURS_ONLY, TABLE, ours
from textgen._protobuf import is_repeated

pytest.importorskip("google.ai.generativelanguage_v1beta")

UPSTREAM = "google.ai.generativelanguage.v1beta"
# The default pool, which holds both ours and the official package's messages.
_POOL: Any = model_pb2.DESCRIPTOR.pool


def upstream_message(name: str) -> Descriptor | None:
    """The official package's descriptor of a message, by its name relative to the package."""
    try:
        found: Descriptor = _POOL.FindMessageTypeByName(f"{UPSTREAM}.{name}")
    except KeyError:
        return None  # a batch completion message: not Generative Language
    return found


GOOGLE_MESSAGES = sorted(name for name in TABLE["messages"] if upstream_message(name) is not None)


def _kind(field: FieldDescriptor, package: str) -> str:
    """A field's type: the scalar type number, or the type's name relative to its package."""
    named = field.message_type or field.enum_type
    if named is None:
        return str(field.type)
    full = str(named.full_name)
    relative = full.removeprefix(f"{package}.")
    renamed: dict[str, str] = TABLE["renamed"]
    head, _, rest = relative.partition(".")
    return ".".join(filter(None, [renamed.get(head, head), rest]))


def _shape(field: FieldDescriptor, package: str) -> tuple[object, ...]:
    """What must agree: number, type, repeated, explicit presence and real oneof."""
    holder = descriptor_pb2.DescriptorProto()
    assert field.containing_type is not None
    field.containing_type.CopyToProto(holder)
    declared = next(f for f in holder.field if f.number == field.number)
    oneof = field.containing_oneof
    real_oneof = oneof.name if oneof is not None and not declared.proto3_optional else None
    return (
        field.number,
        _kind(field, package),
        is_repeated(field),
        declared.proto3_optional,
        real_oneof,
    )


@pytest.mark.parametrize("name", GOOGLE_MESSAGES)
def test_message_matches_the_official_descriptor(name: str) -> None:
    theirs = upstream_message(name)
    assert theirs is not None
    mine = ours(name)
    problems = []
    for field in theirs.fields:
        wire_name = str(field.name).removesuffix("_")
        if (name, wire_name) in OMITTED:
            assert field.number not in mine.fields_by_number, f"{wire_name}'s number is reused"
            continue
        own = mine.fields_by_name.get(wire_name)
        if own is None:
            problems.append(f"{wire_name} = {field.number} is missing")
        elif _shape(own, PACKAGE) != _shape(field, UPSTREAM):
            problems.append(f"{wire_name}: ours {_shape(own, PACKAGE)}, {_shape(field, UPSTREAM)}")
    extra = {str(f.name) for f in mine.fields} - {
        str(f.name).removesuffix("_") for f in theirs.fields
    }
    for own_name in sorted(field for field in extra if (name, field) in OURS_ONLY):
        extra.discard(own_name)
        number = mine.fields_by_name[own_name].number
        if number in theirs.fields_by_number:
            problems.append(f"{own_name}: number {number} is upstream's")
    assert not problems and not extra, f"{name}: {problems}; only ours: {sorted(extra)}"


@pytest.mark.parametrize("path", sorted(TABLE["enums"]))
def test_enum_matches_the_official_descriptor(path: str) -> None:
    try:
        theirs: EnumDescriptor = _POOL.FindEnumTypeByName(f"{UPSTREAM}.{path}")
    except KeyError:
        pytest.skip(f"{path} is a batch completion enum")
    mine = {value.name: value.number for value in find_enum(f"{PACKAGE}.{path}").values}
    expected = {
        value.name: value.number
        for value in theirs.values
        if (path, value.name) not in OMITTED_ENUM_VALUES
    }
    assert mine == expected
