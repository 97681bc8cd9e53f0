"""google.longrunning.Operations over the shared operations store, scoped to the caller."""

from __future__ import annotations

import re

import grpc
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import empty_pb2

from textgen.server.lro.operations import Operations
from textgen.server.rpc.auth import current_principal
from textgen.server.rpc.errors import FieldViolation, invalid_argument
from textgen.server.rpc.pagination import DEFAULT_OPERATIONS, fetch_page
from textgen.server.state import ServerState

# The only filter: `done=true` or `done=false` (spaces around `=` allowed, any case).
_DONE_FILTER = re.compile(r"\s*done\s*=\s*(true|false)\s*", re.IGNORECASE)
# A WaitOperation without a timeout or a call deadline returns after this many seconds.
DEFAULT_WAIT_SECONDS = 60.0
# How long before the call deadline a wait gives up, so the answer still arrives in time:
# a fifth of the time left, at most this many seconds.
DEADLINE_MARGIN_SECONDS = 0.2


def parse_done_filter(text: str) -> bool | None:
    """None for "", else the value of `done=true|false`; INVALID_ARGUMENT on `filter`."""
    if not text.strip():
        return None
    match = _DONE_FILTER.fullmatch(text)
    if match is None:
        raise invalid_argument(
            [FieldViolation("filter", "only `done=true` or `done=false` is supported")]
        )
    return match.group(1).lower() == "true"


def wait_seconds(request: operations_pb2.WaitOperationRequest, remaining: float | None) -> float:
    """How long a WaitOperation may wait: the requested timeout or the time left before the
    call deadline (less a margin), whichever is sooner."""
    limits = [DEFAULT_WAIT_SECONDS]
    if request.HasField("timeout"):
        limits = [max(0.0, request.timeout.ToNanoseconds() / 1e9)]
    if remaining is not None:
        margin = min(DEADLINE_MARGIN_SECONDS, remaining / 5)
        limits.append(max(0.0, remaining - margin))
    return min(limits)


class OperationsServicer(operations_pb2_grpc.OperationsServicer):
    """Get, List, Cancel, Delete and Wait for the caller's operations."""

    def __init__(self, state: ServerState, operations: Operations) -> None:
        self._state = state
        self._operations = operations

    async def GetOperation(
        self,
        request: operations_pb2.GetOperationRequest,
        context: grpc.aio.ServicerContext[
            operations_pb2.GetOperationRequest, operations_pb2.Operation
        ],
    ) -> operations_pb2.Operation:
        """The operation as it is now (a poll: it may advance a poll-paced job)."""
        return await self._operations.poll(request.name, current_principal())

    async def ListOperations(
        self,
        request: operations_pb2.ListOperationsRequest,
        context: grpc.aio.ServicerContext[
            operations_pb2.ListOperationsRequest, operations_pb2.ListOperationsResponse
        ],
    ) -> operations_pb2.ListOperationsResponse:
        """The caller's operations under request.name, filtered by `done`, a page at a time."""
        owner = current_principal()
        done = parse_done_filter(request.filter)

        async def fetch(start: int, limit: int) -> list[operations_pb2.Operation]:
            return await self._operations.list(owner, request.name, done, start=start, limit=limit)

        page = await fetch_page(
            fetch,
            page_size=request.page_size,
            page_token=request.page_token,
            default_size=DEFAULT_OPERATIONS,
            secret=self._state.page_secret,
            binding={
                "method": "ListOperations",
                "name": request.name,
                "filter": done,
                "owner": owner,
            },
        )
        return operations_pb2.ListOperationsResponse(
            operations=page.items, next_page_token=page.next_page_token
        )

    async def CancelOperation(
        self,
        request: operations_pb2.CancelOperationRequest,
        context: grpc.aio.ServicerContext[operations_pb2.CancelOperationRequest, empty_pb2.Empty],
    ) -> empty_pb2.Empty:
        """Stop the work; the operation stays, done, with error CANCELLED."""
        await self._operations.cancel(request.name, current_principal())
        return empty_pb2.Empty()

    async def DeleteOperation(
        self,
        request: operations_pb2.DeleteOperationRequest,
        context: grpc.aio.ServicerContext[operations_pb2.DeleteOperationRequest, empty_pb2.Empty],
    ) -> empty_pb2.Empty:
        """Forget the operation without stopping its work."""
        await self._operations.delete(request.name, current_principal())
        return empty_pb2.Empty()

    async def WaitOperation(
        self,
        request: operations_pb2.WaitOperationRequest,
        context: grpc.aio.ServicerContext[
            operations_pb2.WaitOperationRequest, operations_pb2.Operation
        ],
    ) -> operations_pb2.Operation:
        """The operation once done, or as it is when the timeout or the deadline comes."""
        owner = current_principal()
        timeout = wait_seconds(request, context.time_remaining())
        return await self._operations.wait(request.name, owner, timeout)
