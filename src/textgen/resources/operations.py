"""`client.operations`: google.longrunning.Operations -- get, list, cancel, delete, wait."""

from __future__ import annotations

from google.longrunning import operations_pb2
from google.protobuf.message import Message

from textgen import _waiting
from textgen._calls import Call, LongRunning, Paged, Program, call, paged
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources._base import (
    Resource,
    async_call,
    async_operation,
    async_paged,
    sync_call,
    sync_operation,
    sync_paged,
)


def _ignore(_: object) -> None:
    return None


def _get_then_wait(name: str, timeout: float | None) -> Program[operations_pb2.Operation]:
    current = yield call(_waiting.GET_OPERATION, _waiting.get_operation(name))
    return (yield from _waiting.wait(current, timeout=timeout, report=_ignore))


class OperationCalls:
    """Each Operations call as a plan. Result and metadata types come from the type URLs."""

    @staticmethod
    def get(name: str) -> LongRunning[Message, Message]:
        """A handle on an existing operation, e.g. `tunedModels/x/operations/y`."""
        return LongRunning(call(_waiting.GET_OPERATION, _waiting.get_operation(name)), None, None)

    @staticmethod
    def list_operations(
        *, name: str = "", filter: str = "", page_size: int | None = None
    ) -> Paged[operations_pb2.Operation]:
        """The caller's operations (raw protos), a page at a time; `get(op.name)` for a handle."""
        request = operations_pb2.ListOperationsRequest(
            name=name, filter=filter, page_size=page_size or 0
        )
        return paged(_waiting.LIST_OPERATIONS, request, lambda page: page.operations)

    @staticmethod
    def cancel(name: str) -> Call[None]:
        """Ask the server to stop an operation; it ends with CANCELLED if it was running."""
        request = operations_pb2.CancelOperationRequest(name=name)
        return call(_waiting.CANCEL_OPERATION, request, _ignore)

    @staticmethod
    def delete(name: str) -> Call[None]:
        """Forget a finished operation (not retried: a resent delete would find nothing)."""
        request = operations_pb2.DeleteOperationRequest(name=name)
        return call(_waiting.DELETE_OPERATION, request, _ignore)

    @staticmethod
    def wait(name: str, *, timeout: float | None = None) -> LongRunning[Message, Message]:
        """Wait until an operation is done and return its handle (OperationTimeout if not)."""
        return LongRunning(_get_then_wait(name, timeout), None, None)


c = OperationCalls


class Operations(Resource[SyncRunner]):
    """Long-running operations (blocking)."""

    get = sync_operation(c.get)
    list = sync_paged(c.list_operations)
    cancel = sync_call(c.cancel)
    delete = sync_call(c.delete)
    wait = sync_operation(c.wait)


class AsyncOperations(Resource[AsyncRunner]):
    """Long-running operations (asyncio); `async for` over list needs no await."""

    get = async_operation(c.get)
    list = async_paged(c.list_operations)
    cancel = async_call(c.cancel)
    delete = async_call(c.delete)
    wait = async_operation(c.wait)
