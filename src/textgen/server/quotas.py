"""Limits on what a server stores and sends back, and the errors that enforce them.

`StorageLimits` holds every knob (ServerState.limits; `serve`, FakeServer and `textgen serve`
pass it on). docs/limits.md states each default and why:

- a dataset holds at most `dataset_rows` rows and `dataset_bytes` encoded bytes; an upload
  or a batch's results that would pass either is RESOURCE_EXHAUSTED;
- one row (a prompt as uploaded) is at most `row_bytes` encoded bytes, INVALID_ARGUMENT
  naming the row otherwise, so that every row fits a page (PAGE_BYTES);
- a principal holds at most `resources_per_principal` datasets and tuned models together;
- a finished operation is forgotten `operation_retention` seconds after it ended (AIP-151
  lets a service do so), and a create's `request_id` is remembered for `request_id_seconds`.

A quota error is RESOURCE_EXHAUSTED with a google.rpc.QuotaFailure naming the subject and
the limit, and an ErrorInfo whose reason is QUOTA_EXCEEDED. It carries no RetryInfo: waiting
does not help, deleting something does.
"""

from __future__ import annotations

from typing import NamedTuple

from google.rpc import code_pb2, error_details_pb2

from textgen.server.rpc.errors import DOMAIN, ServiceError, make_error
from textgen.server.storage import Stores

MIB = 1 << 20
# The most encoded bytes of rows one ListDatasetRows page or StreamDatasetRows message
# carries: a default gRPC client's receive limit is 4 MiB, so every page must fit in it.
PAGE_BYTES = 4 * MIB - 64 * 1024  # room left for the message's own framing and token

DEFAULT_DATASET_ROWS = 100_000
DEFAULT_DATASET_BYTES = 256 * MIB
DEFAULT_ROW_BYTES = 1 * MIB
DEFAULT_RESOURCES_PER_PRINCIPAL = 1_000
DEFAULT_OPERATION_RETENTION = 24 * 3600.0
DEFAULT_REQUEST_ID_SECONDS = 3600.0
# The most request ids remembered at once (oldest forgotten first).
DEFAULT_REQUEST_IDS = 100_000


class _Limits(NamedTuple):
    # StorageLimits' fields; a named tuple is quick to define when a server starts.
    dataset_rows: int
    dataset_bytes: int
    row_bytes: int
    resources_per_principal: int
    operation_retention: float
    request_id_seconds: float
    request_ids: int


class StorageLimits(_Limits):
    """Every limit on stored state; see the module docstring and docs/limits.md. Checked
    when made: ValueError for a limit out of range."""

    __slots__ = ()

    def __new__(  # noqa: PLR0917  (positional, as a dataclass's __init__ was)
        cls,
        dataset_rows: int = DEFAULT_DATASET_ROWS,
        dataset_bytes: int = DEFAULT_DATASET_BYTES,
        row_bytes: int = DEFAULT_ROW_BYTES,
        resources_per_principal: int = DEFAULT_RESOURCES_PER_PRINCIPAL,
        operation_retention: float = DEFAULT_OPERATION_RETENTION,
        request_id_seconds: float = DEFAULT_REQUEST_ID_SECONDS,
        request_ids: int = DEFAULT_REQUEST_IDS,
    ) -> StorageLimits:
        for name, value in (
            ("dataset_rows", dataset_rows),
            ("dataset_bytes", dataset_bytes),
            ("row_bytes", row_bytes),
            ("resources_per_principal", resources_per_principal),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, not {value}")
        if row_bytes > PAGE_BYTES:
            raise ValueError(f"row_bytes must be at most {PAGE_BYTES}, the size of a page")
        if operation_retention < 0 or request_id_seconds < 0 or request_ids < 0:
            raise ValueError("retention times and request_ids must not be negative")
        return super().__new__(
            cls,
            dataset_rows,
            dataset_bytes,
            row_bytes,
            resources_per_principal,
            operation_retention,
            request_id_seconds,
            request_ids,
        )


def quota_exceeded(subject: str, description: str) -> ServiceError:
    """RESOURCE_EXHAUSTED with a QuotaFailure violation for `subject` (what is limited, such
    as `datasets/x` or `principal:alice`) and an ErrorInfo QUOTA_EXCEEDED."""
    failure = error_details_pb2.QuotaFailure(
        violations=[
            error_details_pb2.QuotaFailure.Violation(subject=subject, description=description)
        ]
    )
    info = error_details_pb2.ErrorInfo(
        reason="QUOTA_EXCEEDED", domain=DOMAIN, metadata={"subject": subject}
    )
    return make_error(code_pb2.RESOURCE_EXHAUSTED, f"Quota exceeded: {description}", failure, info)


async def check_resource_quota(stores: Stores, limits: StorageLimits, principal: str) -> None:
    """RESOURCE_EXHAUSTED when `principal` already holds `limits.resources_per_principal`
    datasets and tuned models together (checked before a create, so concurrent creates
    may pass it by their number)."""
    held = await stores.datasets.count(owner=principal)
    held += await stores.tuned_models.count(owner=principal)
    if held >= limits.resources_per_principal:
        raise quota_exceeded(
            f"principal:{principal}",
            f"a principal may hold at most {limits.resources_per_principal} datasets and "
            "tuned models together; delete some first",
        )
