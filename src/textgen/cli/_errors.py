"""What went wrong, as data: each failure a command can meet becomes an error dict and a status.

The dict has `code` (the gRPC status name; INVALID_ARGUMENT with reason LOCAL_INPUT for
input the command refused before sending anything), `message`, `field_violations` (each
`{field, description}`), and where known `reason` and `target`. When the server lists field
violations, `message` is its message without them (they are in `field_violations`), so each
is printed once. `textgen.cli._output.Output.error` prints it; nothing here prints a
traceback.
"""

from __future__ import annotations

from typing import Any

from textgen.cli._output import API_ERROR, INTERRUPTED, USAGE_ERROR

# The reason of an error in the command's own input (a file, an argument), found before any
# call; its code is INVALID_ARGUMENT, as the server would answer.
LOCAL_INPUT = "LOCAL_INPUT"


class InputError(Exception):
    """A command's input (an argument or a file) is unusable; exit status 2."""


def describe(error: BaseException, target: str | None) -> tuple[dict[str, Any], int]:
    """The error dict and the exit status for an exception a command raised."""
    from textgen import errors  # noqa: PLC0415

    if isinstance(error, errors.ConnectionError):
        where = error.target or target or "the target"
        return (
            {
                "code": "UNAVAILABLE",
                "message": f"cannot reach a textgen server at {where} "
                "(is it running? set --target or $TEXTGEN_ENDPOINT)",
                "target": where,
                "field_violations": [],
            },
            API_ERROR,
        )
    if isinstance(error, errors.APIError | errors.OperationError):
        return _status(error), API_ERROR
    if isinstance(error, errors.BlockedContentError):
        return {
            "code": "BLOCKED",
            "message": str(error),
            "reasons": list(error.reasons),
            "field_violations": [],
        }, API_ERROR
    if isinstance(error, errors.OperationTimeout):
        return {"code": "DEADLINE_EXCEEDED", "message": str(error), "field_violations": []}, (
            API_ERROR
        )
    if isinstance(error, KeyboardInterrupt):
        return {"code": "CANCELLED", "message": "interrupted", "field_violations": []}, (
            INTERRUPTED
        )
    if isinstance(error, InputError | errors.UsageError | ValueError | OSError):
        return {
            "code": "INVALID_ARGUMENT",
            "reason": LOCAL_INPUT,
            "message": _plain(error),
            "field_violations": [],
        }, USAGE_ERROR
    raise error


def _status(error: Any) -> dict[str, Any]:  # noqa: ANN401  (APIError or OperationError)
    violations = [{"field": v.field, "description": v.description} for v in error.field_violations]
    message = str(error) if hasattr(error, "operation") else error.message
    described: dict[str, Any] = {
        "code": error.code.name,
        "message": _without_violations(message, violations),
        "field_violations": violations,
    }
    if error.reason:
        described["reason"] = error.reason
    return described


def _without_violations(message: str, violations: list[dict[str, str]]) -> str:
    """message without the list of violations it ends with, as the servers write it
    ("Invalid request: a: x; b: y" becomes "Invalid request"); unchanged otherwise."""
    listed = "; ".join(f"{v['field']}: {v['description']}" for v in violations)
    if violations and message.endswith(listed):
        return message[: -len(listed)].rstrip().removesuffix(":").rstrip() or message
    return message


def _plain(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or error}: {error.filename}"
    return str(error)
