"""Assemble and start a grpc.aio server with every servicer, health and reflection.

Health checking and reflection come with the `server` extra; they are imported only when asked
for, so the FakeServer runs on the base install. Reflection is registered when the server
starts, but its servicer is imported and built on the first reflection call.

ModelService is built when the server starts. The other services are registered then too, but
each one's servicer (and the jobs, rules and stores code behind it) is imported and built on
the first call to that service: a server answers its first call sooner, and one that is only
asked to generate never loads the rest.

The server also answers the upstream APIs' names for the same methods (textgen.apis), with the
same servicers: see textgen.server.flavours.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc

from textgen._extras import missing_extra
from textgen.apis import ALL as ALL_APIS
from textgen.apis import TEXTGEN, Api
from textgen.apis import chosen as chosen_apis
from textgen.server.address import AddressUnavailableError, check_address, format_address
from textgen.server.flavours import FlavourHandler, ReflectionPool
from textgen.server.http.dispatch import Registrations
from textgen.server.lro.operations import Operations
from textgen.server.rpc.auth import Authentication
from textgen.server.rpc.error_mapping import ErrorMapping
from textgen.server.rpc.malformed import MalformedRequests
from textgen.server.rpc.policy import Policy, PolicyInterceptor
from textgen.server.rpc.routing import Routes
from textgen.server.rpc.unknown_fields import UnknownFields
from textgen.server.services.model_service import ModelServicer
from textgen.server.state import ServerState
from textgen.server.storage.backends import Backend, open_backend
from textgen.v1 import model_service_pb2, model_service_pb2_grpc

if TYPE_CHECKING:
    from textgen.server.http.server import HttpServer

# A port is never shared with another process, so a test server cannot steal traffic.
SERVER_OPTIONS = [("grpc.so_reuseport", 0)]

MODEL_SERVICE = model_service_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name
# Spelled out, so that these services' generated modules load with their servicers, on their
# first call (a test checks the names against the descriptors).
TUNED_MODEL_SERVICE = "textgen.v1.TunedModelService"
DATASET_SERVICE = "textgen.v1.DatasetService"
BATCH_SERVICE = "textgen.v1.TextGenerationBatchService"
OPERATIONS_SERVICE = operations_pb2.DESCRIPTOR.services_by_name["Operations"].full_name
# gRPC's health and reflection services (grpc_health and grpc_reflection name them too).
HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_SERVICE = "grpc.reflection.v1alpha.ServerReflection"
SERVICE_NAMES: tuple[str, ...] = (
    MODEL_SERVICE,
    TUNED_MODEL_SERVICE,
    DATASET_SERVICE,
    BATCH_SERVICE,
    OPERATIONS_SERVICE,
)


class Running:
    """A started server: its port, the state and operations it serves."""

    __slots__ = ("closers", "http", "operations", "port", "server", "state")

    def __init__(
        self, server: grpc.aio.Server, port: int, state: ServerState, operations: Operations
    ) -> None:
        self.server = server
        self.port = port
        self.state = state
        self.operations = operations
        # The HTTP/JSON server beside it, when one was asked for (textgen.server.http).
        self.http: HttpServer | None = None
        # Run after the server stops (a durable store's job workers and connections).
        self.closers: list[Callable[[], Awaitable[None]]] = []

    def __repr__(self) -> str:
        return f"Running(port={self.port})"

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting calls and end the running ones after `grace` seconds; waiters on
        operations are answered UNAVAILABLE at once and jobs stop at their next stage."""
        self.operations.shutdown()
        if self.http is not None:
            await self.http.stop()
        await self.server.stop(grace)
        for close in self.closers:
            await close()


async def serve(
    state: ServerState,
    *,
    operations: Operations | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    policies: Sequence[Policy] = (),
    health: bool = True,
    reflection: bool = True,
    apis: Iterable[str] = ALL_APIS,
    http_port: int | None = None,
    store: str | Backend | None = None,
) -> Running:
    """Start a server for `state` on host:port (0 picks a free port) and return it.

    Every call goes through the shared policies, in this order: error mapping, authentication,
    the undecodable-request check, the unknown-field check, then `policies` (the FakeServer
    adds its journal and faults there), then the servicer. `interceptors` run after all of them.

    `apis` names the API flavours served (textgen.apis; all of them by default): without
    "textgen" the server answers only the upstream names, as the real services would, and
    health checking and reflection list exactly the names served.

    With `http_port` (0 picks a free port) the server also answers HTTP/JSON on host, from
    the contract's `google.api.http` rules, through the same handlers and policies
    (textgen.server.http; the `http` extra); `Running.http.port` is its port.

    `store` (a URL, textgen.server.storage.backends, or an opened Backend) replaces the
    state's stores with durable ones; once the server listens, its job workers resume what
    a previous server left, and `Running.stop` stops them and closes the store. A given
    `operations` must then be built on the backend's operation store.
    """
    backend = await _use_store(state, store)
    if operations is None:
        operations = Operations(state.clock, state.stores.operations)
    operations.retention = state.limits.operation_retention
    served = chosen_apis(apis)
    native = any(api.name == TEXTGEN for api in served)
    routes = Routes(api for api in served if api.name != TEXTGEN)
    shared = PolicyInterceptor(
        [
            ErrorMapping(),
            Authentication(state.api_keys),
            MalformedRequests(),
            UnknownFields(),
            *policies,
        ],
        routes,
    )
    server = grpc.aio.server(interceptors=[shared, *interceptors], options=SERVER_OPTIONS)
    # Registrations go through `registry`, which keeps the handlers for HTTP calls.
    registry = Registrations(server)
    models = ModelServicer(state)
    later = {
        name: _OnFirstCall(name, functools.partial(build, state, operations))
        for name, build in _BUILT_ON_FIRST_CALL.items()
    }
    if native:
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(models, registry.as_server())
        registry.add_generic_rpc_handlers(list(later.values()))
    else:
        # A service a flavour calls by our own name (google.longrunning.Operations), limited
        # to the methods the flavour lists.
        paths = frozenset(path for api in served for path in api.shared_paths())
        if paths:
            registry.add_generic_rpc_handlers([_OnlyPaths(paths, later[OPERATIONS_SERVICE])])
    # The flavours' paths, served by the same servicers (ModelService's handler for them is
    # built on the first such call).
    add_models = model_service_pb2_grpc.add_ModelServiceServicer_to_server
    ours = {MODEL_SERVICE: _OnFirstCall(MODEL_SERVICE, lambda: _collect(add_models, models))}
    # Services reached only by a flavour's paths (Yandex's operation shape).
    flavour_only = {
        name: _OnFirstCall(name, functools.partial(build, state, operations))
        for name, build in _FLAVOUR_ONLY.items()
    }
    registry.add_generic_rpc_handlers([FlavourHandler(routes, {**ours, **later, **flavour_only})])
    try:
        names = _served_names(native, served, routes)
        if health:
            await _add_health(server, names)
        if reflection:
            _add_reflection(server, names, routes)
    except ImportError as error:
        raise missing_extra(error, "gRPC health checking and reflection") or error from None
    check_address(host, port)
    address = format_address(host, port)
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as error:  # the port was taken after the check
        raise AddressUnavailableError(f"cannot listen on {address}: {error}") from error
    await server.start()
    running = Running(server, bound, state, operations)
    if http_port is not None:
        try:
            running.http = await _serve_http(
                served, registry, [shared, *interceptors], state, host=host, port=http_port
            )
        except BaseException:
            await server.stop(None)
            raise
    if backend is not None:
        running.closers.append(await _attach_store(state, operations, backend))
    return running


async def _use_store(state: ServerState, store: str | Backend | None) -> Backend | None:
    # Open the store a URL names, and make its stores the state's.
    backend = await open_backend(store) if isinstance(store, str) else store
    if backend is not None:
        state.stores = backend.stores
    return backend


async def _attach_store(
    state: ServerState, operations: Operations, backend: Backend
) -> Callable[[], Awaitable[None]]:
    # Start the job workers of a durable store; what stops them and closes it. A memory
    # store needs none, so the job modules stay unloaded until a first job.
    if not backend.durable:
        return backend.close
    from textgen.server.jobs.resume import attach_backend  # noqa: PLC0415

    return await attach_backend(state, operations, backend)


async def _serve_http(
    served: Sequence[Api],
    registry: Registrations,
    interceptors: Sequence[grpc.aio.ServerInterceptor],
    state: ServerState,
    *,
    host: str,
    port: int,
) -> HttpServer:
    try:
        from textgen.server.http.server import serve_http  # noqa: PLC0415
    except ImportError as error:
        raise missing_extra(error, "HTTP/JSON serving") or error from None
    return await serve_http(
        served, registry.handlers, interceptors, state.api_keys, host=host, port=port
    )


def _served_names(native: bool, served: Sequence[Api], routes: Routes) -> tuple[str, ...]:
    # Our services when textgen.v1 is served, else those a flavour calls by our name.
    ours = SERVICE_NAMES if native else ()
    shared = (name for api in served for name in api.shared_services())
    return tuple(dict.fromkeys((*ours, *shared, *routes.services())))


async def _add_health(server: grpc.aio.Server, names: Sequence[str]) -> None:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # noqa: PLC0415

    servicer = health.aio.HealthServicer()
    for name in ("", *names):
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)


def _add_reflection(server: grpc.aio.Server, served: Sequence[str], routes: Routes) -> None:
    # Only whether it is installed is checked now: importing it waits for the first call.
    if importlib.util.find_spec("grpc_reflection") is None:
        raise ModuleNotFoundError("no module named 'grpc_reflection'", name="grpc_reflection")
    names = (*served, REFLECTION_SERVICE, HEALTH_SERVICE)
    build = functools.partial(_reflection, names, routes)
    server.add_generic_rpc_handlers([_OnFirstCall(REFLECTION_SERVICE, build)])


def _reflection(names: Sequence[str], routes: Routes) -> grpc.GenericRpcHandler:
    from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc  # noqa: PLC0415

    # Every service of the contract is described, whether its servicer is built yet or not:
    # loading the contract puts all their files in the default pool.
    from textgen import contract  # noqa: F401, PLC0415

    pool = cast("Any", ReflectionPool(routes.apis))  # a pool as far as reflection looks
    servicer = reflection.aio.ReflectionServicer(names, pool=pool)
    return _collect(reflection_pb2_grpc.add_ServerReflectionServicer_to_server, servicer)


class _OnlyPaths(grpc.GenericRpcHandler):
    """`handler` for the given method paths only (a flavour's share of one of our services)."""

    def __init__(self, paths: frozenset[str], handler: grpc.GenericRpcHandler) -> None:
        self._paths = paths
        self._handler = handler

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if handler_call_details.method not in self._paths:
            return None
        return self._handler.service(handler_call_details)


# --- services built on their first call ---------------------------------------------------


class _OnFirstCall(grpc.GenericRpcHandler):
    """One service's methods, its servicer built (and its module imported) on the first call."""

    def __init__(self, service: str, build: Callable[[], grpc.GenericRpcHandler]) -> None:
        self._prefix = f"/{service}/"
        self._build: Callable[[], grpc.GenericRpcHandler] | None = build
        self._handler: grpc.GenericRpcHandler | None = None

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if not handler_call_details.method.startswith(self._prefix):
            return None
        if self._handler is None:
            assert self._build is not None
            self._handler, self._build = self._build(), None
        return self._handler.service(handler_call_details)


class _Collector:
    """Takes the place of a server for a generated `add_*_to_server` function, keeping the
    generic handler it registers (the same handler a server would get)."""

    def __init__(self) -> None:
        self.handlers: list[grpc.GenericRpcHandler] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: object) -> None:
        """Nothing to do: the generic handler serves the same methods."""

    def handler(self) -> grpc.GenericRpcHandler:
        (found,) = self.handlers
        return found


def _collect(add: Callable[[Any, Any], None], servicer: object) -> grpc.GenericRpcHandler:
    collector = _Collector()
    add(servicer, cast("grpc.aio.Server", collector))
    return collector.handler()


def _tuned_models(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    from textgen.server.services.tuned_model_service import TunedModelServicer  # noqa: PLC0415
    from textgen.v1 import tuned_model_service_pb2_grpc  # noqa: PLC0415

    return _collect(
        tuned_model_service_pb2_grpc.add_TunedModelServiceServicer_to_server,
        TunedModelServicer(state, operations),
    )


def _datasets(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    from textgen.server.services.dataset_service import DatasetServicer  # noqa: PLC0415
    from textgen.v1 import dataset_service_pb2_grpc  # noqa: PLC0415

    return _collect(
        dataset_service_pb2_grpc.add_DatasetServiceServicer_to_server, DatasetServicer(state)
    )


def _batches(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    from textgen.server.services.text_generation_batch_service import (  # noqa: PLC0415
        TextGenerationBatchServicer,
    )
    from textgen.v1 import text_generation_batch_service_pb2_grpc  # noqa: PLC0415

    return _collect(
        text_generation_batch_service_pb2_grpc.add_TextGenerationBatchServiceServicer_to_server,
        TextGenerationBatchServicer(state, operations),
    )


def _operations(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    from textgen.server.services.operations_service import OperationsServicer  # noqa: PLC0415

    return _collect(
        operations_pb2_grpc.add_OperationsServicer_to_server,
        OperationsServicer(state, operations),
    )


_BUILT_ON_FIRST_CALL: dict[str, Callable[[ServerState, Operations], grpc.GenericRpcHandler]] = {
    TUNED_MODEL_SERVICE: _tuned_models,
    DATASET_SERVICE: _datasets,
    BATCH_SERVICE: _batches,
    OPERATIONS_SERVICE: _operations,
}


def _yandex_batches(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    from textgen.server.services.yandex_service import batch_handler  # noqa: PLC0415

    return batch_handler(state, operations)


def _yandex_operations(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    from textgen.server.services.yandex_service import operations_handler  # noqa: PLC0415

    return operations_handler(state, operations)


def _yandex_batch_inference(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    from textgen.server.services.yandex_batch_inference import handler  # noqa: PLC0415

    return handler(state, operations)


# Served only under Yandex's names (textgen.yandex_operation and textgen.yandex_batch declare
# these services).
_FLAVOUR_ONLY: dict[str, Callable[[ServerState, Operations], grpc.GenericRpcHandler]] = {
    "textgen.compat.yandex.v1.TextGenerationBatchService": _yandex_batches,
    "textgen.compat.yandex.v1.OperationService": _yandex_operations,
    "textgen.compat.yandex.batch_inference.v1.BatchInferenceService": _yandex_batch_inference,
}
