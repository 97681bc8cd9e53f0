"""textgen._protobuf.is_repeated: the right answer, and no DeprecationWarning, on any runtime."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from dataclasses import dataclass

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor
from textgen.v1 import content_pb2

from textgen._protobuf import is_repeated

SCHEMA = content_pb2.Schema.DESCRIPTOR.fields_by_name
PART = content_pb2.Part.DESCRIPTOR.fields_by_name

CASES = [
    ("repeated string", SCHEMA["required"], True),
    ("repeated message", SCHEMA["any_of"], True),
    ("map", SCHEMA["properties"], True),
    ("enum", SCHEMA["type"], False),
    ("string", SCHEMA["description"], False),
    ("optional double", SCHEMA["minimum"], False),
    ("optional message", SCHEMA["items"], False),
    ("oneof member", PART["text"], False),
]


@pytest.mark.parametrize(("field", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cardinality(field: FieldDescriptor, expected: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # protobuf 6.32+ warns on `.label`
        assert is_repeated(field) is expected


@dataclass(frozen=True)
class OldDescriptor:
    """A field descriptor shaped as protobuf before 6.31 made it: a label, no is_repeated."""

    full_name: str
    label: int


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        (descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED, True),
        (descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL, False),
        (descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED, False),
    ],
)
def test_falls_back_to_the_label_on_older_runtimes(label: int, expected: bool) -> None:
    assert is_repeated(OldDescriptor("pkg.Message.field", label)) is expected


_PURE_PYTHON_CHECK = textwrap.dedent(
    """
    import warnings
    from google.protobuf.internal import api_implementation
    from textgen._protobuf import is_repeated
    from textgen.v1 import content_pb2

    assert api_implementation.Type() == "python", api_implementation.Type()
    fields = content_pb2.Schema.DESCRIPTOR.fields_by_name
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        found = {name: is_repeated(fields[name]) for name in ("required", "properties", "type")}
    assert found == {"required": True, "properties": True, "type": False}, found
    """
)


def test_pure_python_runtime() -> None:
    """The same answers from the pure-Python descriptors, which a process picks at start-up."""
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run(
        [sys.executable, "-c", _PURE_PYTHON_CHECK],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
