"""A tiny scripted gRPC server on 127.0.0.1 for transport-level client tests.

A method scripted under our name also answers under every API flavour's name for it
(textgen.apis), so one scripted test runs with clients of any flavour; `Received.path` says
which name a call came by. Where a flavour's messages have another shape (Yandex's
operations), the stub converts as the emulator does: the scripted handler sees our request
and its answer is sent in the flavour's shape.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_status import rpc_status
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

from textgen import _routes, apis, yandex_operation
from textgen._calls import Method

Handler = Callable[[Any, Any], Any]


def status(code: grpc.StatusCode, message: str, *details: Message) -> status_pb2.Status:
    """A google.rpc.Status with packed details."""
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return status_pb2.Status(code=code.value[0], message=message, details=packed)


def abort(context: Any, code: grpc.StatusCode, message: str, *details: Message) -> None:
    context.abort_with_status(rpc_status.to_status(status(code, message, *details)))


def _play(step: Any, request: Any, context: Any) -> Any:
    # One scripted step: fail with a Status, call a handler, or answer with a message.
    if isinstance(step, status_pb2.Status):
        context.abort_with_status(rpc_status.to_status(step))
    if callable(step):
        return step(request, context)
    return step


@dataclass
class Received:
    method: str
    request: Any
    metadata: dict[str, str]
    path: str = ""  # the path the call came by: `method`, or a flavour's name for it


def _our_paths() -> dict[str, str]:
    # Each flavour's path for one of our methods -> our path (the path of ours an adapter
    # stands in for, where the flavour's shape differs).
    stands_for = {
        adapter.theirs: ours
        for adapters in _routes.ADAPTERS.values()
        for ours, adapter in adapters.items()
    }
    return {
        m.path: stands_for.get(m.canonical, m.canonical)
        for api in apis.APIS.values()
        for m in api.methods()
    }


class _Shape:
    """How a Yandex path's messages are read and written around a handler of ours."""

    def __init__(self, request: Callable[[bytes], Any], response: Callable[[Any, Any], Any]):
        self.request = request
        self.response = response  # (our request, our answer) -> the flavour's answer


def _yandex_request(kind: Any) -> Callable[[bytes], Any]:
    def read(data: bytes) -> Any:
        request: Any = kind.FromString(data)
        name = yandex_operation.operation_name(request.operation_id)
        return operations_pb2.GetOperationRequest(name=name)

    return read


def _as_yandex(operation: Any) -> Any:
    shaped: Any = yandex_operation.Operation(
        id=yandex_operation.operation_id(operation.name), done=operation.done
    )
    if operation.HasField("metadata"):
        shaped.metadata.CopyFrom(operation.metadata)
    if operation.HasField("error"):
        shaped.error.CopyFrom(operation.error)
    if operation.HasField("response"):
        shaped.response.CopyFrom(operation.response)
    return shaped


_YANDEX_OPERATIONS = "/yandex.cloud.operation.OperationService"
SHAPES = {
    "/yandex.cloud.ai.foundation_models.v1.TextGenerationBatchService/Completion": _Shape(
        batch_pb2.BatchCompletionRequest.FromString, lambda _, answer: _as_yandex(answer)
    ),
    f"{_YANDEX_OPERATIONS}/Get": _Shape(
        _yandex_request(yandex_operation.GetOperationRequest), lambda _, answer: _as_yandex(answer)
    ),
    f"{_YANDEX_OPERATIONS}/Cancel": _Shape(
        lambda data: operations_pb2.CancelOperationRequest(
            name=_yandex_request(yandex_operation.CancelOperationRequest)(data).name
        ),
        lambda request, _: _as_yandex(operations_pb2.Operation(name=request.name)),
    ),
}


@dataclass
class StubServer:
    """Register handlers per Method; every request is recorded in `received`."""

    handlers: dict[str, tuple[Method[Any, Any], Handler]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Any = None
    port: int = 0

    def on(self, method: Method[Any, Any], handler: Handler) -> None:
        self.handlers[method.path] = (method, handler)

    def script(self, method: Method[Any, Any], *steps: Any) -> None:
        """Answer successive calls with each step: a response, a Status to fail with, or a
        callable(request, context); the last step repeats."""
        queue = list(steps)

        def handler(request: Any, context: Any) -> Any:
            with self.lock:
                step = queue.pop(0) if len(queue) > 1 else queue[0]
            return _play(step, request, context)

        self.on(method, handler)

    def cycle(self, method: Method[Any, Any], *steps: Any) -> None:
        """Like `script`, but after the last step the steps start over from the first."""
        turn = itertools.count()

        def handler(request: Any, context: Any) -> Any:
            with self.lock:
                step = steps[next(turn) % len(steps)]
            return _play(step, request, context)

        self.on(method, handler)

    def calls(self, method: Method[Any, Any]) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == method.path]

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> StubServer:
        outer = self
        aliases = _our_paths()

        class Generic(grpc.GenericRpcHandler):
            def service(
                self, details: grpc.HandlerCallDetails
            ) -> grpc.RpcMethodHandler[Any, Any] | None:
                path = details.method
                entry = outer.handlers.get(aliases.get(path, path))
                if entry is None:
                    return None
                method, handler = entry

                def record(request: Any, context: Any) -> None:
                    with outer.lock:
                        outer.received.append(
                            Received(
                                method.path, request, dict(context.invocation_metadata()), path
                            )
                        )

                if method.streaming:

                    def streaming(request: Any, context: Any) -> Iterator[Any]:
                        record(request, context)
                        yield from handler(request, context)

                    return grpc.unary_stream_rpc_method_handler(
                        streaming,
                        request_deserializer=method.request_type.FromString,
                        response_serializer=method.response_type.SerializeToString,
                    )

                shape = SHAPES.get(path)

                def unary(request: Any, context: Any) -> Any:
                    record(request, context)
                    answer = handler(request, context)
                    return answer if shape is None else shape.response(request, answer)

                return grpc.unary_unary_rpc_method_handler(
                    unary,
                    request_deserializer=(
                        method.request_type.FromString if shape is None else shape.request
                    ),
                    response_serializer=lambda message: message.SerializeToString(),
                )

        self.server = grpc.server(
            ThreadPoolExecutor(max_workers=16), options=[("grpc.so_reuseport", 0)]
        )
        self.server.add_generic_rpc_handlers((Generic(),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(None)
