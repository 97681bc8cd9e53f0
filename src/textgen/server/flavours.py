"""Serving the upstream API flavours with the servicers of `textgen.v1`.

A flavour's path for one of our methods is answered by the very handler that serves our own
path for it: `FlavourHandler` asks our service's generic handler for our path and hands its
answer on. The messages are wire-identical, so nothing is converted, a service built on its
first call (app.py) is built once for both names, and the policies see our method's path
(textgen.server.rpc.routing). Any other path in a flavour's packages (GenerateAnswer, the
file or cache services, a live session...) is answered UNIMPLEMENTED, saying that this
emulator does not offer it.

Health checking reports the flavours' service names as served, and reflection describes them:
`ReflectionPool` answers what grpc's reflection servicer asks of a descriptor pool from the
default pool, except for the flavours' services, which it describes with a file of its own
per upstream package (built on the first such question) declaring them with our messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import grpc
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool
from google.rpc import code_pb2, error_details_pb2

from textgen.apis import Api
from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.errors import DOMAIN, ServiceError, make_error
from textgen.server.rpc.routing import Route, Routes


class _Renamed(grpc.HandlerCallDetails):
    """A call's details with our method's path in place of the flavour's."""

    def __init__(self, method: str, invocation_metadata: Any) -> None:  # noqa: ANN401  (grpc's metadata type)
        self.method = method
        self.invocation_metadata = invocation_metadata


class FlavourHandler(grpc.GenericRpcHandler):
    """Serves the flavours' paths with our services' handlers (`services`: our service's
    full name -> the generic handler serving it), and refuses their other paths."""

    def __init__(self, routes: Routes, services: Mapping[str, grpc.GenericRpcHandler]) -> None:
        self._routes = routes
        self._services = services
        # A flavour's path -> our handler for it: at most one per route of the table.
        self._found: dict[str, Handler] = {}

    @property
    def cached(self) -> int:
        """How many paths' handlers are kept (at most one per route of the table)."""
        return len(self._found)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        """Our handler for a flavour's path, UNIMPLEMENTED for its other paths, else None."""
        path = handler_call_details.method
        found = self._found.get(path)
        if found is not None:
            return found
        route = self._routes.route(path)
        if route is None:
            return None
        served = self._services.get(route.service) if route.offered else None
        if served is not None:
            renamed = _Renamed(route.method, handler_call_details.invocation_metadata)
            found = served.service(renamed)
        if found is None:
            return not_offered(route)
        self._found[path] = found
        return found


def not_offered(route: Route) -> Handler:
    """A handler for any kind of call that answers UNIMPLEMENTED without reading a request.

    It is a bidirectional stream with no deserializer: grpc serves every call kind with
    one, and it ends the call before a request arrives, so it never decodes any.
    """
    error = not_offered_error(route)

    async def refuse(requests: AsyncIterator[bytes], context: Context) -> AsyncIterator[bytes]:
        raise error
        yield b""  # unreachable; makes this function an async generator

    return grpc.stream_stream_rpc_method_handler(refuse)


def not_offered_error(route: Route) -> ServiceError:
    """UNIMPLEMENTED for a flavour's method this emulator does not offer."""
    method = route.path.removeprefix("/")
    return make_error(
        code_pb2.UNIMPLEMENTED,
        f"{method} is not offered by this emulator: of the {route.api} API it serves only "
        "the methods its contract mirrors (see the textgen-grpc README)",
        error_details_pb2.ErrorInfo(
            reason="METHOD_NOT_OFFERED", domain=DOMAIN, metadata={"method": method}
        ),
    )


# --- reflection --------------------------------------------------------------------------


class ReflectionPool:
    """The descriptor lookups grpc reflection makes, over the default pool plus files that
    declare the flavours' services (see the module docstring)."""

    def __init__(self, apis: Iterable[Api]) -> None:
        self._apis = tuple(apis)
        self._names = frozenset(name for api in self._apis for name in api.upstream_services())
        # Pools as Any: the older protobuf stubs leave their methods untyped.
        self._own: Any = None
        self._default: Any = descriptor_pb2.DESCRIPTOR.pool

    def FindFileByName(self, name: str) -> descriptor.FileDescriptor:
        """The file called `name`."""
        pool = self._pool() if name.startswith(ALIAS_FILES) else self._default
        found: descriptor.FileDescriptor = pool.FindFileByName(name)
        return found

    def FindFileContainingSymbol(self, symbol: str) -> descriptor.FileDescriptor:
        """The file declaring `symbol` (a flavour's service, or any other name)."""
        pool = self._pool() if symbol in self._names else self._default
        found: descriptor.FileDescriptor = pool.FindFileContainingSymbol(symbol)
        return found

    def FindMessageTypeByName(self, name: str) -> descriptor.Descriptor:
        """A message type of the default pool."""
        found: descriptor.Descriptor = self._default.FindMessageTypeByName(name)
        return found

    def FindExtensionByNumber(
        self, message: descriptor.Descriptor, number: int
    ) -> descriptor.FieldDescriptor:
        """An extension of the default pool."""
        found: descriptor.FieldDescriptor = self._default.FindExtensionByNumber(message, number)
        return found

    def FindAllExtensions(self, message: descriptor.Descriptor) -> list[descriptor.FieldDescriptor]:
        """The extensions of the default pool."""
        found: list[descriptor.FieldDescriptor] = self._default.FindAllExtensions(message)
        return found

    def _pool(self) -> Any:  # noqa: ANN401
        if self._own is None:
            self._own = alias_pool(self._apis)
        return self._own


# Where the files declaring the flavours' services are named, one per upstream package.
ALIAS_FILES = "textgen/apis/"


def alias_pool(apis: Iterable[Api]) -> descriptor_pool.DescriptorPool:
    """A new pool holding, for each upstream package of `apis`, a file that declares its
    services with our message types, and copies of the files those need."""
    built = descriptor_pool.DescriptorPool()
    pool: Any = built
    added: set[str] = set()
    for proto in alias_files(apis):
        for dependency in proto.dependency:
            _add_with_dependencies(pool, _default_file(dependency), added)
        pool.Add(proto)
    return built


def alias_files(apis: Iterable[Api]) -> list[descriptor_pb2.FileDescriptorProto]:
    """One file per upstream package, declaring its services (methods in table order)."""
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    services: dict[str, descriptor_pb2.ServiceDescriptorProto] = {}
    for api in apis:
        for method in api.methods():
            if method.path == method.canonical:
                continue
            full_service = method.path.split("/")[1]
            package, _, name = full_service.rpartition(".")
            proto = files.get(package)
            if proto is None:
                path = f"{ALIAS_FILES}{package.replace('.', '/')}.proto"
                proto = descriptor_pb2.FileDescriptorProto(
                    name=path, package=package, syntax="proto3"
                )
                files[package] = proto
            service = services.get(full_service)
            if service is None:
                service = services[full_service] = proto.service.add(name=name)
            ours = method.descriptor
            service.method.add(
                name=ours.name,
                input_type=f".{ours.input_type.full_name}",
                output_type=f".{ours.output_type.full_name}",
                client_streaming=ours.client_streaming,
                server_streaming=ours.server_streaming,
            )
            for used in (ours.input_type.file.name, ours.output_type.file.name):
                if used not in proto.dependency:
                    proto.dependency.append(used)
    return list(files.values())


def _default_file(name: str) -> descriptor.FileDescriptor:
    found: descriptor.FileDescriptor = descriptor_pb2.DESCRIPTOR.pool.FindFileByName(name)
    return found


def _add_with_dependencies(pool: Any, file: Any, added: set[str]) -> None:  # noqa: ANN401
    if file.name in added:
        return
    for dependency in file.dependencies:
        _add_with_dependencies(pool, dependency, added)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    pool.Add(proto)
    added.add(file.name)
