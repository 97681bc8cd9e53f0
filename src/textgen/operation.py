"""`Operation[T, M]` and `AsyncOperation[T, M]`: a long-running job, its typed result and metadata.

T is the response message (e.g. TunedModel), M the metadata message (e.g.
CreateTunedModelMetadata). All logic lives in `_OperationState` and `textgen._waiting`; the two
classes only run its plans through their shell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from google.longrunning import operations_pb2
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

from textgen import _anys, _waiting, errors
from textgen._calls import Program, Progress, call
from textgen._shells import AsyncRunner, SyncRunner
from textgen.progress import ProgressRenderer, RichProgressRenderer, describe_metadata

T = TypeVar("T", bound=Message)
M = TypeVar("M", bound=Message)

__all__ = ["AsyncOperation", "Operation", "Progress", "ProgressRenderer"]

ProgressCallback = Callable[[M], object]


def unpack(packed: any_pb2.Any, kind: type[T] | None) -> T | None:
    """The message inside an Any, as `kind`, or looked up by its type URL when kind is None."""
    if not packed.type_url:
        return None
    if kind is not None:
        return _anys.unpack(packed, kind)
    found = _anys.message_class(packed.TypeName())
    return cast("T", _anys.unpack(packed, found)) if found is not None else None


class _OperationState(Generic[T, M]):
    """The pure part: the latest Operation proto, typed views of it, and plans to advance it."""

    def __init__(
        self,
        proto: operations_pb2.Operation,
        response_type: type[T] | None = None,
        metadata_type: type[M] | None = None,
        describe: Callable[[M], Progress] | None = None,
    ) -> None:
        self._proto = proto
        self._response_type = response_type
        self._metadata_type = metadata_type
        self._describe: Callable[[M], Progress] = describe or describe_metadata

    @property
    def name(self) -> str:
        """The operation's resource name."""
        return self._proto.name

    @property
    def done(self) -> bool:
        """True once the operation finished, with a response or an error."""
        return self._proto.done

    @property
    def raw(self) -> operations_pb2.Operation:
        """The latest google.longrunning.Operation seen."""
        return self._proto

    @property
    def metadata(self) -> M | None:
        """The latest progress metadata, unpacked into its message class."""
        return unpack(self._proto.metadata, self._metadata_type)

    @property
    def error(self) -> status_pb2.Status | None:
        """The google.rpc.Status of a failed operation, else None."""
        return self._proto.error if self._proto.HasField("error") else None

    def cancelled(self) -> bool:
        """True when the operation ended because it was cancelled."""
        error = self.error
        return self.done and error is not None and error.code == code_pb2.CANCELLED

    def _outcome(self) -> T:
        error = self.error
        if error is not None:
            raise errors.OperationError(self.name, error)
        response = unpack(self._proto.response, self._response_type)
        if response is None:
            raise errors.OperationError(
                self.name,
                status_pb2.Status(code=code_pb2.UNKNOWN, message="done without a response"),
            )
        return response

    def _set(self, proto: operations_pb2.Operation) -> None:
        self._proto = proto

    def _refreshing(self) -> Program[None]:
        self._set((yield call(_waiting.GET_OPERATION, _waiting.get_operation(self.name))))

    def _cancelling(self) -> Program[None]:
        request = operations_pb2.CancelOperationRequest(name=self.name)
        yield call(_waiting.CANCEL_OPERATION, request)
        yield from self._refreshing()

    def _waiting(
        self,
        timeout: float | None,
        on_progress: ProgressCallback[M] | None,
        progress: bool | ProgressRenderer,
    ) -> Program[None]:
        renderer: ProgressRenderer | None = (
            RichProgressRenderer(self.name) if progress is True else progress or None
        )

        def report(proto: operations_pb2.Operation) -> object:
            self._set(proto)
            metadata = self.metadata
            if metadata is None:
                return None
            if renderer is not None:
                renderer.update(self._describe(metadata))
            return on_progress(metadata) if on_progress is not None else None

        try:
            watched = renderer is not None or on_progress is not None
            hold = _waiting.PROGRESS_POLL if watched else _waiting.LONG_POLL
            self._set(
                (
                    yield from _waiting.wait(
                        self._proto, timeout=timeout, report=report, hold_limit=hold
                    )
                )
            )
        finally:
            if renderer is not None:
                renderer.close()

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<{type(self).__name__} {self.name} {state}>"


class Operation(_OperationState[T, M]):
    """A long-running operation, for blocking code."""

    def __init__(
        self,
        runner: SyncRunner,
        proto: operations_pb2.Operation,
        response_type: type[T] | None = None,
        metadata_type: type[M] | None = None,
        describe: Callable[[M], Progress] | None = None,
    ) -> None:
        super().__init__(proto, response_type, metadata_type, describe)
        self._runner = runner

    def refresh(self) -> Operation[T, M]:
        """Fetch the latest state from the server."""
        self._runner.run(self._refreshing())
        return self

    def cancel(self) -> None:
        """Ask the server to cancel, then refresh; see `cancelled()`."""
        self._runner.run(self._cancelling())

    def wait(
        self,
        timeout: float | None = None,
        *,
        on_progress: ProgressCallback[M] | None = None,
        progress: bool | ProgressRenderer = False,
    ) -> Operation[T, M]:
        """Block until done (OperationTimeout after `timeout` seconds); see `result`."""
        self._runner.run(self._waiting(timeout, on_progress, progress))
        return self

    def result(
        self,
        timeout: float | None = None,
        *,
        on_progress: ProgressCallback[M] | None = None,
        progress: bool | ProgressRenderer = False,
    ) -> T:
        """Wait, then return the typed response or raise OperationError.

        on_progress gets the typed metadata each time it changes; progress=True draws a
        terminal bar (or pass any ProgressRenderer).
        """
        return self.wait(timeout, on_progress=on_progress, progress=progress)._outcome()


class AsyncOperation(_OperationState[T, M]):
    """A long-running operation, for asyncio code; on_progress may be a coroutine function."""

    def __init__(
        self,
        runner: AsyncRunner,
        proto: operations_pb2.Operation,
        response_type: type[T] | None = None,
        metadata_type: type[M] | None = None,
        describe: Callable[[M], Progress] | None = None,
    ) -> None:
        super().__init__(proto, response_type, metadata_type, describe)
        self._runner = runner

    async def refresh(self) -> AsyncOperation[T, M]:
        """Fetch the latest state from the server."""
        await self._runner.run(self._refreshing())
        return self

    async def cancel(self) -> None:
        """Ask the server to cancel, then refresh; see `cancelled()`."""
        await self._runner.run(self._cancelling())

    async def wait(
        self,
        timeout: float | None = None,
        *,
        on_progress: ProgressCallback[M] | None = None,
        progress: bool | ProgressRenderer = False,
    ) -> AsyncOperation[T, M]:
        """Wait until done (OperationTimeout after `timeout` seconds); see `result`."""
        await self._runner.run(self._waiting(timeout, on_progress, progress))
        return self

    async def result(
        self,
        timeout: float | None = None,
        *,
        on_progress: ProgressCallback[M] | None = None,
        progress: bool | ProgressRenderer = False,
    ) -> T:
        """Wait, then return the typed response or raise OperationError."""
        return (await self.wait(timeout, on_progress=on_progress, progress=progress))._outcome()


AnyOperation = Operation[Any, Any]
