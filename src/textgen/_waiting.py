"""The google.longrunning.Operations RPCs and the one program that waits for an operation.

Waiting long-polls with WaitOperation: each poll asks the server to hold the call for
min(remaining, LONG_POLL) seconds and gives the RPC a slightly larger deadline, so a finished
operation is noticed as soon as the server answers. Servers that answer UNIMPLEMENTED get
GetOperation polls with exponential backoff and jitter instead, as do clients whose API flavour
has no WaitOperation (Generative Language; Yandex, whose GetOperation is OperationService Get).
Those polls start at FIRST_DELAY and grow to MAX_DELAY, or to WATCHED_MAX_DELAY while somebody
watches progress, so a progress bar keeps moving. A long poll that ends UNAVAILABLE (the server
stopped or is restarting) is sent again after a backoff pause, until the timeout. Every time
the operation's metadata changes,
`report` is invoked (through an Invoke effect, so it may be async).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from google.longrunning import operations_pb2
from google.protobuf import duration_pb2, empty_pb2

from textgen import errors
from textgen._calls import Invoke, Program, Sleep, call, method

SERVICE = "google.longrunning.Operations"
GET_OPERATION = method(
    SERVICE,
    "GetOperation",
    operations_pb2.GetOperationRequest,
    operations_pb2.Operation,
    idempotent=True,
)
LIST_OPERATIONS = method(
    SERVICE,
    "ListOperations",
    operations_pb2.ListOperationsRequest,
    operations_pb2.ListOperationsResponse,
    idempotent=True,
)
# Cancelling twice has the same effect as once.
CANCEL_OPERATION = method(
    SERVICE,
    "CancelOperation",
    operations_pb2.CancelOperationRequest,
    empty_pb2.Empty,
    idempotent=True,
)
# A resent delete that already worked would answer NOT_FOUND, so it is not retried.
DELETE_OPERATION = method(
    SERVICE,
    "DeleteOperation",
    operations_pb2.DeleteOperationRequest,
    empty_pb2.Empty,
    idempotent=False,
)
WAIT_OPERATION = method(
    SERVICE,
    "WaitOperation",
    operations_pb2.WaitOperationRequest,
    operations_pb2.Operation,
    idempotent=True,
)

LONG_POLL = 10.0  # seconds the server may hold one WaitOperation
# With a progress consumer, polls are shorter so metadata changes show within this many
# seconds; completion is still noticed at once because WaitOperation returns when done.
PROGRESS_POLL = 0.5
POLL_SLACK = 2.0  # extra RPC deadline beyond the server-side wait
FIRST_DELAY = 0.05  # GetOperation fallback: first pause, then x BACKOFF up to MAX_DELAY
BACKOFF = 1.6
MAX_DELAY = 5.0
WATCHED_MAX_DELAY = 1.0  # the longest GetOperation pause while progress is shown
JITTER = 0.2

Report = Callable[[operations_pb2.Operation], object]


def get_operation(name: str) -> operations_pb2.GetOperationRequest:
    """The GetOperation request for one operation."""
    return operations_pb2.GetOperationRequest(name=name)


class Backoff:
    """Exponential delays up to `cap` seconds, with +-JITTER multiplicative jitter."""

    def __init__(self, cap: float = MAX_DELAY) -> None:
        self._next = FIRST_DELAY
        self._cap = cap

    def reset(self) -> None:
        """Start again from the first delay."""
        self._next = FIRST_DELAY

    def delay(self) -> float:
        """The next pause, in seconds."""
        current = self._next
        self._next = min(self._next * BACKOFF, self._cap)
        return current * random.uniform(1 - JITTER, 1 + JITTER)


def wait(
    current: operations_pb2.Operation,
    *,
    timeout: float | None,
    report: Report,
    hold_limit: float = LONG_POLL,
) -> Program[operations_pb2.Operation]:
    """Wait until `current` is done or `timeout` seconds pass (OperationTimeout).

    Each WaitOperation holds for at most `hold_limit` seconds: LONG_POLL when nobody watches
    progress, PROGRESS_POLL when somebody does (GetOperation polls then pause at most
    WATCHED_MAX_DELAY).
    """
    name = current.name
    deadline = None if timeout is None else time.monotonic() + timeout
    long_poll = True
    backoff = Backoff(MAX_DELAY if hold_limit >= LONG_POLL else WATCHED_MAX_DELAY)
    seen = current.metadata.SerializeToString()
    if current.HasField("metadata"):
        yield Invoke(report, args=(current,))
    while not current.done:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise errors.OperationTimeout(name, timeout or 0.0)
        previous = current
        if long_poll:
            hold = hold_limit if remaining is None else min(remaining, hold_limit)
            request = operations_pb2.WaitOperationRequest(
                name=name,
                timeout=duration_pb2.Duration(seconds=int(hold), nanos=int(hold % 1 * 1e9)),
            )
            started = time.monotonic()
            try:
                current = yield call(WAIT_OPERATION, request, timeout=hold + POLL_SLACK)
            except (errors.Unimplemented, errors.UnsupportedByApi):
                long_poll = False  # this server, or this API flavour, has no WaitOperation
                continue
            except errors.DeadlineExceeded:
                continue
            except errors.Unavailable:
                # The server stopped or restarted (its retries are spent): poll again after
                # a pause; a server that kept the operation answers the next WaitOperation.
                pause = backoff.delay()
                yield Sleep(pause if remaining is None else max(0.0, min(pause, remaining)))
                continue
            if current == previous and time.monotonic() - started < hold / 2:
                yield Sleep(backoff.delay())  # the server answered early without news
            else:
                backoff.reset()
        else:
            pause = backoff.delay()
            yield Sleep(pause if remaining is None else min(pause, remaining))
            current = yield call(GET_OPERATION, get_operation(name))
        metadata = current.metadata.SerializeToString()
        if metadata != seen:
            seen = metadata
            yield Invoke(report, args=(current,))
    return current
