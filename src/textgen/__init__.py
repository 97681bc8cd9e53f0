"""textgen: a gRPC-first toolkit for text-generation APIs.

The generated messages and stubs live in ``textgen.v1`` (for example
``textgen.v1.model_service_pb2``); the hand-written client, servicers and fakes build on them.

The names below are imported on first use, so that importing a part of the package (the
pytest plugin, the emulator, the command line) does not load the whole client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from textgen import errors, types
    from textgen.client import AsyncClient, Client
    from textgen.operation import AsyncOperation, Operation
    from textgen.parts import ModelContent, Part, UserContent
    from textgen.resources.batch_job import AsyncBatchJob, BatchJob, BatchStatus
    from textgen.retry import RetryPolicy
    from textgen.rows import PromptRow, ResultRow
    from textgen.types import (
        AutomaticFunctionCallingConfig,
        EmbedContentConfig,
        GenerateContentConfig,
    )

# Each public name and the module that defines it.
_EXPORTS = {
    "AsyncBatchJob": "textgen.resources.batch_job",
    "AsyncClient": "textgen.client",
    "AsyncOperation": "textgen.operation",
    "AutomaticFunctionCallingConfig": "textgen.types",
    "BatchJob": "textgen.resources.batch_job",
    "BatchStatus": "textgen.resources.batch_job",
    "Client": "textgen.client",
    "EmbedContentConfig": "textgen.types",
    "GenerateContentConfig": "textgen.types",
    "ModelContent": "textgen.parts",
    "Operation": "textgen.operation",
    "Part": "textgen.parts",
    "PromptRow": "textgen.rows",
    "ResultRow": "textgen.rows",
    "RetryPolicy": "textgen.retry",
    "UserContent": "textgen.parts",
}
# Submodules reachable as attributes of the package, imported on first use.
_MODULES = ("errors", "types")

__all__ = [
    "AsyncBatchJob",
    "AsyncClient",
    "AsyncOperation",
    "AutomaticFunctionCallingConfig",
    "BatchJob",
    "BatchStatus",
    "Client",
    "EmbedContentConfig",
    "GenerateContentConfig",
    "ModelContent",
    "Operation",
    "Part",
    "PromptRow",
    "ResultRow",
    "RetryPolicy",
    "UserContent",
    "__version__",
    "errors",
    "types",
]


def __getattr__(name: str) -> object:
    if name in _MODULES:
        return importlib.import_module(f"textgen.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'textgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
