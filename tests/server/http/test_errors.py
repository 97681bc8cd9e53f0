"""Google's JSON error shape, and HTTP statuses mapped from gRPC codes."""

from __future__ import annotations

from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from textgen.server.http.errors import HTTP_STATUS, error_body, http_status


def test_every_code_maps_as_google_rpc_code_documents() -> None:
    assert set(HTTP_STATUS) == set(code_pb2.Code.values())
    assert http_status(code_pb2.INVALID_ARGUMENT) == 400
    assert http_status(code_pb2.FAILED_PRECONDITION) == 400
    assert http_status(code_pb2.OUT_OF_RANGE) == 400
    assert http_status(code_pb2.UNAUTHENTICATED) == 401
    assert http_status(code_pb2.PERMISSION_DENIED) == 403
    assert http_status(code_pb2.NOT_FOUND) == 404
    assert http_status(code_pb2.ALREADY_EXISTS) == 409
    assert http_status(code_pb2.ABORTED) == 409
    assert http_status(code_pb2.RESOURCE_EXHAUSTED) == 429
    assert http_status(code_pb2.CANCELLED) == 499
    assert http_status(code_pb2.UNIMPLEMENTED) == 501
    assert http_status(code_pb2.UNAVAILABLE) == 503
    assert http_status(code_pb2.DEADLINE_EXCEEDED) == 504
    assert http_status(99) == 500


def test_the_error_body_carries_typed_details() -> None:
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason="WHY", domain="textgen.dev"))
    status = status_pb2.Status(code=code_pb2.NOT_FOUND, message="gone", details=[detail])
    assert error_body(status) == {
        "error": {
            "code": 404,
            "message": "gone",
            "status": "NOT_FOUND",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "WHY",
                    "domain": "textgen.dev",
                }
            ],
        }
    }
