"""Errors over HTTP: a google.rpc.Status in Google's JSON error shape.

    {"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT",
               "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", ...}]}}

`code` is the HTTP status, mapped from the gRPC code as google/rpc/code.proto documents it;
`status` is the gRPC code's name; `details` are the same typed details a gRPC caller gets.
"""

from __future__ import annotations

from typing import Any

from google.rpc import code_pb2, status_pb2

from textgen.server.http.codec import to_json

# google.rpc.Code -> HTTP status, from the comments of google/rpc/code.proto.
HTTP_STATUS: dict[int, int] = {
    code_pb2.OK: 200,
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.UNAUTHENTICATED: 401,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
}


def http_status(code: int) -> int:
    """The HTTP status for a google.rpc.Code value (500 for a value it does not define)."""
    return HTTP_STATUS.get(code, 500)


def error_body(status: status_pb2.Status) -> dict[str, Any]:
    """The JSON error object for `status`."""
    name = code_pb2.Code.Name(status.code) if status.code in HTTP_STATUS else "UNKNOWN"
    error: dict[str, Any] = {
        "code": http_status(status.code),
        "message": status.message,
        "status": name,
    }
    if status.details:
        error["details"] = [to_json(detail) for detail in status.details]
    return {"error": error}


def plain_error(code: int, message: str) -> dict[str, Any]:
    """The JSON error object for a status without details."""
    return error_body(status_pb2.Status(code=code, message=message))
