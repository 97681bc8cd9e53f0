"""Assemble and start a grpc.aio server with every servicer, health and reflection.

Health checking and reflection come with the `server` extra; they are imported only when asked
for, so the FakeServer runs on the base install.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc

from textgen._extras import missing_extra
from textgen.server.address import AddressUnavailableError, check_address, format_address
from textgen.server.lro.operations import Operations
from textgen.server.rpc.auth import Authentication
from textgen.server.rpc.error_mapping import ErrorMapping
from textgen.server.rpc.malformed import MalformedRequests
from textgen.server.rpc.policy import Policy, PolicyInterceptor
from textgen.server.services.dataset_service import DatasetServicer
from textgen.server.services.model_service import ModelServicer
from textgen.server.services.operations_service import OperationsServicer
from textgen.server.services.text_generation_batch_service import TextGenerationBatchServicer
from textgen.server.services.tuned_model_service import TunedModelServicer
from textgen.server.state import ServerState
from textgen.v1 import (
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    model_service_pb2,
    model_service_pb2_grpc,
    text_generation_batch_service_pb2,
    text_generation_batch_service_pb2_grpc,
    tuned_model_service_pb2,
    tuned_model_service_pb2_grpc,
)

# A port is never shared with another process, so a test server cannot steal traffic.
SERVER_OPTIONS = [("grpc.so_reuseport", 0)]

SERVICE_NAMES: tuple[str, ...] = (
    model_service_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
    tuned_model_service_pb2.DESCRIPTOR.services_by_name["TunedModelService"].full_name,
    dataset_service_pb2.DESCRIPTOR.services_by_name["DatasetService"].full_name,
    text_generation_batch_service_pb2.DESCRIPTOR.services_by_name[
        "TextGenerationBatchService"
    ].full_name,
    operations_pb2.DESCRIPTOR.services_by_name["Operations"].full_name,
)


@dataclass
class Running:
    """A started server: its port, the state and operations it serves."""

    server: grpc.aio.Server
    port: int
    state: ServerState
    operations: Operations

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting calls and end the running ones after `grace` seconds."""
        await self.server.stop(grace)


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
) -> Running:
    """Start a server for `state` on host:port (0 picks a free port) and return it.

    Every call goes through the shared policies, in this order: error mapping, authentication,
    the undecodable-request check, then `policies` (the FakeServer adds its journal and
    faults there), then the servicer. `interceptors` run after all of them.
    """
    if operations is None:
        operations = Operations(state.clock, state.stores.operations)
    shared = PolicyInterceptor(
        [ErrorMapping(), Authentication(state.api_keys), MalformedRequests(), *policies]
    )
    server = grpc.aio.server(interceptors=[shared, *interceptors], options=SERVER_OPTIONS)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(state), server)
    tuned_model_service_pb2_grpc.add_TunedModelServiceServicer_to_server(
        TunedModelServicer(state, operations), server
    )
    dataset_service_pb2_grpc.add_DatasetServiceServicer_to_server(DatasetServicer(state), server)
    text_generation_batch_service_pb2_grpc.add_TextGenerationBatchServiceServicer_to_server(
        TextGenerationBatchServicer(state, operations), server
    )
    operations_pb2_grpc.add_OperationsServicer_to_server(  # type: ignore[no-untyped-call]
        OperationsServicer(state, operations), server
    )
    try:
        if health:
            await _add_health(server)
        if reflection:
            _add_reflection(server)
    except ImportError as error:
        raise missing_extra(error, "gRPC health checking and reflection") or error from None
    check_address(host, port)
    address = format_address(host, port)
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as error:  # the port was taken after the check
        raise AddressUnavailableError(f"cannot listen on {address}: {error}") from error
    await server.start()
    return Running(server, bound, state, operations)


async def _add_health(server: grpc.aio.Server) -> None:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # noqa: PLC0415

    servicer = health.aio.HealthServicer()
    for name in ("", *SERVICE_NAMES):
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)


def _add_reflection(server: grpc.aio.Server) -> None:
    from grpc_health.v1 import health  # noqa: PLC0415
    from grpc_reflection.v1alpha import reflection  # noqa: PLC0415

    names = (*SERVICE_NAMES, reflection.SERVICE_NAME, health.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
