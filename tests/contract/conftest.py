"""Shared fixtures for the contract tests: the descriptor pool with every textgen.v1 file."""

from __future__ import annotations

from google.protobuf import descriptor_pool

import textgen.contract  # noqa: F401  (imports every service module into the default pool)
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

POOL = descriptor_pool.Default()
PACKAGE = "textgen.v1"
