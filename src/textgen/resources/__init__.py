"""Client resources, one module per service, each written once and bound to both shells.

How to add a resource (e.g. `tuned_models` for TunedModelService):

1. In `resources/tuned_models.py`, declare each RPC once with `textgen._calls.method(...)`,
   saying whether it is idempotent (Get/List: yes; Create/Update/Delete: no). Idempotent
   methods are retried on UNAVAILABLE by gRPC itself; the others are never resent.
2. Write a `TunedModelCalls` class of static methods, one per user-facing method, that turn
   arguments into a plan: `call(METHOD, request, parse)` for one RPC, `paged(...)` for a
   list, `streamed(...)` for a server stream, a generator yielding effects for multi-step
   logic, or `LongRunning(start, ResponseType, MetadataType, describe)` for an operation
   (`describe` maps metadata to `Progress(completed, total, unit)` for progress bars; the
   default reads `completed_X` / `total_X` fields).
3. Bind them in two thin classes, one line per method:
   `class TunedModels(Resource[SyncRunner]): create = sync_operation(c.create)` and
   `class AsyncTunedModels(Resource[AsyncRunner]): create = async_operation(c.create)`.
   A client-streaming RPC (declared `client_streaming=True`) is an `upload(...)` effect that
   a program yields; operations with their own handle class bind like `batch_job.sync_job`.
4. Attach them in `textgen.client` (`Client._attach` and `AsyncClient._attach`).
"""

from textgen.resources.batch_job import AsyncBatchJob, BatchJob
from textgen.resources.batches import AsyncBatches, BatchCalls, Batches
from textgen.resources.chats import AsyncChat, AsyncChats, Chat, Chats
from textgen.resources.datasets import AsyncDatasets, DatasetCalls, Datasets
from textgen.resources.models import AsyncModels, ModelCalls, Models
from textgen.resources.operations import AsyncOperations, OperationCalls, Operations
from textgen.resources.tuned_models import AsyncTunedModels, TunedModelCalls, TunedModels

__all__ = [
    "AsyncBatchJob",
    "AsyncBatches",
    "AsyncChat",
    "AsyncChats",
    "AsyncDatasets",
    "AsyncModels",
    "AsyncOperations",
    "AsyncTunedModels",
    "BatchCalls",
    "BatchJob",
    "Batches",
    "Chat",
    "Chats",
    "DatasetCalls",
    "Datasets",
    "ModelCalls",
    "Models",
    "OperationCalls",
    "Operations",
    "TunedModelCalls",
    "TunedModels",
]
