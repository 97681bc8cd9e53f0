"""Field cardinality that reads the same on every supported protobuf runtime.

`FieldDescriptor.is_repeated` arrived in protobuf 6.31. From 6.32 reading `.label` warns
(DeprecationWarning), and protobuf 7 removed it, while releases before 6.31 offer only
`.label`. `is_repeated` below asks for the new attribute and falls back to the label only
where the attribute does not exist, so it never touches the deprecated one.

Both descriptor implementations go through it: the C-backed (upb) descriptors the default
runtime hands out and the pure-Python ones. Newer typing stubs give them separate classes,
older stubs know only the Python one, so the parameter is a small Protocol both satisfy.
"""

from __future__ import annotations

from typing import Protocol, cast

from google.protobuf import descriptor_pb2

# descriptor.proto's enum value for `repeated`; it is wire data and does not change.
_LABEL_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED


class FieldDescriptorLike(Protocol):
    """Any field descriptor, whichever implementation or typing stubs produced it."""

    @property
    def full_name(self) -> str:
        """The field's fully qualified name, e.g. `textgen.v1.Model.name`."""
        ...


class _Labelled(Protocol):
    # The shape of a descriptor from a runtime older than 6.31.
    @property
    def label(self) -> int: ...


def is_repeated(field: FieldDescriptorLike) -> bool:
    """True for a `repeated` field, maps included (a map is a repeated entry message)."""
    flag = getattr(field, "is_repeated", None)
    if flag is not None:
        return bool(flag)
    return cast("_Labelled", field).label == _LABEL_REPEATED
