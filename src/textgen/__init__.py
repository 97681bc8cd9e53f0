"""textgen: a gRPC-first toolkit for text-generation APIs.

The generated messages and stubs live in ``textgen.v1`` (for example
``textgen.v1.model_service_pb2``); the hand-written client, servicers and fakes build on them.
"""

__version__ = "0.1.0"

from textgen import errors
from textgen.client import AsyncClient, Client
from textgen.operation import AsyncOperation, Operation
from textgen.resources.batch_job import AsyncBatchJob, BatchJob, BatchStatus
from textgen.rows import PromptRow, ResultRow
from textgen.types import AutomaticFunctionCallingConfig, GenerateContentConfig

__all__ = [
    "AsyncBatchJob",
    "AsyncClient",
    "AsyncOperation",
    "AutomaticFunctionCallingConfig",
    "BatchJob",
    "BatchStatus",
    "Client",
    "GenerateContentConfig",
    "Operation",
    "PromptRow",
    "ResultRow",
    "__version__",
    "errors",
]
