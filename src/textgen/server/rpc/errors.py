"""Rich gRPC errors for the servicers: a google.rpc.Status with typed details.

Every rejection goes through `abort`, which sends `rpc_status.to_status(...)` so the code,
message and details always agree (grpc_status is loaded by the first rejection, not when a
server starts). Builders return a `ServiceError` that a servicer raises;
the error policy (`textgen.server.rpc.error_mapping`) turns it into the aborted call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, NoReturn, Protocol, cast

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from textgen.server.rpc.aio_types import Context

DOMAIN = "textgen.dev"


class FieldViolation(NamedTuple):
    """One bad field: its path in the request (e.g. `generation_config.temperature`) and why."""

    field: str
    description: str
    reason: str = "INVALID_FIELD"


class ServiceError(Exception):
    """An expected failure of one RPC, carrying the full google.rpc.Status to send."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status

    @property
    def code(self) -> grpc.StatusCode:
        """The gRPC status code."""
        return _GRPC_CODES[self.status.code]


_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _pack(*details: Message) -> list[any_pb2.Any]:
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return packed


def _error_info(reason: str, metadata: dict[str, str] | None = None) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata or {})


def make_error(code: int, message: str, *details: Message) -> ServiceError:
    """A ServiceError with an arbitrary code (a google.rpc.Code value) and details."""
    return ServiceError(status_pb2.Status(code=code, message=message, details=_pack(*details)))


def invalid_argument(violations: Sequence[FieldViolation]) -> ServiceError:
    """INVALID_ARGUMENT with a BadRequest naming every bad field, plus an ErrorInfo."""
    message = "; ".join(f"{v.field}: {v.description}" for v in violations)
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=v.field, description=v.description, reason=v.reason
            )
            for v in violations
        ]
    )
    reason = violations[0].reason if violations else "INVALID_ARGUMENT"
    return make_error(
        code_pb2.INVALID_ARGUMENT,
        f"Invalid request: {message}",
        bad_request,
        _error_info(reason, {"field": violations[0].field} if violations else None),
    )


def not_found(resource_type: str, name: str) -> ServiceError:
    """NOT_FOUND with a ResourceInfo naming the missing resource."""
    return make_error(
        code_pb2.NOT_FOUND,
        f"{resource_type} {name!r} was not found",
        error_details_pb2.ResourceInfo(resource_type=resource_type, resource_name=name),
        _error_info("RESOURCE_NOT_FOUND", {"resource": name}),
    )


def already_exists(resource_type: str, name: str) -> ServiceError:
    """ALREADY_EXISTS with a ResourceInfo naming the clashing resource."""
    return make_error(
        code_pb2.ALREADY_EXISTS,
        f"{resource_type} {name!r} already exists",
        error_details_pb2.ResourceInfo(resource_type=resource_type, resource_name=name),
        _error_info("RESOURCE_EXISTS", {"resource": name}),
    )


def failed_precondition(
    message: str, violations: Iterable[tuple[str, str, str]] = (), reason: str = "PRECONDITION"
) -> ServiceError:
    """FAILED_PRECONDITION with PreconditionFailure entries of (type, subject, description)."""
    failure = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type=kind, subject=subject, description=description
            )
            for kind, subject, description in violations
        ]
    )
    return make_error(code_pb2.FAILED_PRECONDITION, message, failure, _error_info(reason))


def malformed_request(method: str, reason: str) -> ServiceError:
    """INVALID_ARGUMENT for request bytes that do not decode as the method's request type."""
    return make_error(
        code_pb2.INVALID_ARGUMENT,
        f"The request to {method} could not be decoded: {reason}",
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="", description=f"not a valid encoding: {reason}", reason="MALFORMED"
                )
            ]
        ),
        _error_info("MALFORMED_REQUEST", {"method": method}),
    )


def unauthenticated(message: str) -> ServiceError:
    """UNAUTHENTICATED with an ErrorInfo."""
    return make_error(code_pb2.UNAUTHENTICATED, message, _error_info("API_KEY_INVALID"))


def resource_exhausted(message: str, retry_after_seconds: float) -> ServiceError:
    """RESOURCE_EXHAUSTED with a RetryInfo telling the client when to come back."""
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(retry_after_seconds * 1e9))
    return make_error(
        code_pb2.RESOURCE_EXHAUSTED,
        message,
        error_details_pb2.RetryInfo(retry_delay=delay),
        _error_info("RATE_LIMIT_EXCEEDED"),
    )


class _AbortsWithStatus(Protocol):
    # grpc.aio's servicer context has had abort_with_status at run time all along, but only
    # the newer grpc stubs declare it (types-grpcio 1.85); this names it for the older ones.
    async def abort_with_status(self, status: grpc.Status) -> NoReturn: ...


async def abort(context: Context, error: ServiceError) -> NoReturn:
    """End the call with the error's status; raises, as context.abort does."""
    from grpc_status import rpc_status  # noqa: PLC0415

    aborting = cast("_AbortsWithStatus", context)
    await aborting.abort_with_status(rpc_status.to_status(error.status))
    raise AssertionError("abort_with_status returned")  # it always raises
