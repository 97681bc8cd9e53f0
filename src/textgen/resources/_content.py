"""GenerateContent with automatic function calling: the loop, written once as a program."""

from __future__ import annotations

from collections.abc import Sequence

from textgen import _functions, errors
from textgen._calls import Invoke, Program, Streamed, call, method, streamed
from textgen._convert import Prepared
from textgen.types import ContentResponse
from textgen.v1 import content_pb2, model_service_pb2

SERVICE = "textgen.v1.ModelService"
# Generation changes no state, so resending it after UNAVAILABLE is safe (it costs tokens).
GENERATE_CONTENT = method(
    SERVICE,
    "GenerateContent",
    model_service_pb2.GenerateContentRequest,
    model_service_pb2.GenerateContentResponse,
    idempotent=True,
)
STREAM_GENERATE_CONTENT = method(
    SERVICE,
    "StreamGenerateContent",
    model_service_pb2.GenerateContentRequest,
    model_service_pb2.GenerateContentResponse,
    idempotent=True,
    streaming=True,
)


def model_name(model: str) -> str:
    """`gemma` -> `models/gemma`; names with a collection (`tunedModels/x`) are kept."""
    return model if "/" in model else f"models/{model}"


def _function_calls(
    raw: model_service_pb2.GenerateContentResponse,
) -> list[content_pb2.FunctionCall]:
    if not raw.candidates:
        return []
    parts = raw.candidates[0].content.parts
    return [p.function_call for p in parts if p.WhichOneof("data") == "function_call"]


def generate(
    model: str, contents: Sequence[content_pb2.Content], prepared: Prepared
) -> Program[ContentResponse]:
    """Ask the model; while it calls known Python functions, run them and ask again.

    Each round appends the model's function-call turn and a user turn with one
    function_response per call. The loop stops when the model answers without calls, when a
    call names an unknown function, when automatic calling is disabled, or after
    `maximum_remote_calls` requests; the last response is returned with its calls.
    """
    turns = list(contents)
    remote_calls = 0
    limit = prepared.automatic.maximum_remote_calls
    while True:
        raw = yield call(GENERATE_CONTENT, prepared.request(model, turns))
        remote_calls += 1
        history = turns if remote_calls > 1 else []
        calls = _function_calls(raw)
        if (
            not calls
            or prepared.automatic.disable
            or remote_calls >= limit
            or any(c.name not in prepared.functions for c in calls)
        ):
            return ContentResponse(raw, prepared.parser, list(history))
        replies = content_pb2.Content(role="user")
        for function_call in calls:
            result = yield from _run(prepared, function_call)
            replies.parts.add().function_response.CopyFrom(
                content_pb2.FunctionResponse(
                    id=function_call.id,
                    name=function_call.name,
                    response=_functions.response_struct(result),
                )
            )
        asked = content_pb2.Content()
        asked.CopyFrom(raw.candidates[0].content)
        asked.role = asked.role or "model"
        turns = [*turns, asked, replies]


def _run(prepared: Prepared, function_call: content_pb2.FunctionCall) -> Program[object]:
    function = prepared.functions[function_call.name]
    try:
        kwargs = _functions.arguments(function, function_call.args)
        result: object = yield Invoke(function, kwargs)
    except errors.TextgenError:
        raise
    except Exception as failure:  # the model is told, and may try again
        return failure
    return result


def stream(
    model: str, contents: Sequence[content_pb2.Content], prepared: Prepared
) -> Streamed[ContentResponse]:
    """StreamGenerateContent; function calls come back to the caller, not run."""
    return streamed(
        STREAM_GENERATE_CONTENT,
        prepared.request(model, contents),
        ContentResponse,  # pieces of JSON do not parse; `.parsed` stays None
    )
