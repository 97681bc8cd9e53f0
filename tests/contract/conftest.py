"""Typed lookups in the descriptor pool that holds every textgen.v1 file."""

from __future__ import annotations

from google.protobuf import descriptor
from textgen.v1 import (  # noqa: F401  (imports the message-only files too)
    citation_pb2,
    content_pb2,
    dataset_pb2,
    generation_pb2,
    message_pb2,
    model_pb2,
    safety_pb2,
    text_pb2,
    tuned_model_pb2,
)

import textgen.contract  # noqa: F401  (imports every service module into the default pool)

PACKAGE = "textgen.v1"
_POOL = model_pb2.DESCRIPTOR.pool

# The pool's lookups are untyped in the protobuf stubs; these give them types once.


def find_message(full_name: str) -> descriptor.Descriptor:
    """A message descriptor by full name."""
    found: descriptor.Descriptor = _POOL.FindMessageTypeByName(full_name)
    return found


def find_enum(full_name: str) -> descriptor.EnumDescriptor:
    """An enum descriptor by full name."""
    found: descriptor.EnumDescriptor = _POOL.FindEnumTypeByName(full_name)
    return found


def find_service(full_name: str) -> descriptor.ServiceDescriptor:
    """A service descriptor by full name."""
    found: descriptor.ServiceDescriptor = _POOL.FindServiceByName(full_name)
    return found


def find_method(full_name: str) -> descriptor.MethodDescriptor:
    """A method descriptor by full name (service.Method)."""
    found: descriptor.MethodDescriptor = _POOL.FindMethodByName(full_name)
    return found


def find_file(name: str) -> descriptor.FileDescriptor:
    """A file descriptor by its path, e.g. textgen/v1/model.proto."""
    found: descriptor.FileDescriptor = _POOL.FindFileByName(name)
    return found
