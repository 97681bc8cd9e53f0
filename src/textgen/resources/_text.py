"""Text and message calls for `client.models`: GenerateText (whole or streamed), GenerateMessage
and their token counts, each request built from the arguments once."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import ParamSpec, TypeVar

from google.protobuf.message import Message

from textgen import _convert
from textgen._calls import Call, Streamed, call, method, streamed
from textgen._convert import MessageInput
from textgen.resources._content import SERVICE, model_name
from textgen.types import MessageResponse, SafetySettingsInput, TextChunk, TextResponse
from textgen.v1 import message_pb2, model_service_pb2, text_pb2

pb = model_service_pb2
P = ParamSpec("P")
T = TypeVar("T")
Req = TypeVar("Req", bound=Message)

GENERATE_TEXT = method(
    SERVICE, "GenerateText", pb.GenerateTextRequest, pb.GenerateTextResponse, idempotent=True
)
STREAM_GENERATE_TEXT = method(
    SERVICE,
    "StreamGenerateText",
    pb.GenerateTextRequest,
    pb.GenerateTextResponse,
    idempotent=True,
    streaming=True,
)
COUNT_TEXT_TOKENS = method(
    SERVICE,
    "CountTextTokens",
    pb.CountTextTokensRequest,
    pb.CountTextTokensResponse,
    idempotent=True,
)
GENERATE_MESSAGE = method(
    SERVICE,
    "GenerateMessage",
    pb.GenerateMessageRequest,
    pb.GenerateMessageResponse,
    idempotent=True,
)
COUNT_MESSAGE_TOKENS = method(
    SERVICE,
    "CountMessageTokens",
    pb.CountMessageTokensRequest,
    pb.CountMessageTokensResponse,
    idempotent=True,
)


def _set_given(request: Message, optional: Mapping[str, float | int | None]) -> None:
    # Optional scalar fields: set the ones given, leave the others unset.
    for name, value in optional.items():
        if value is not None:
            setattr(request, name, value)


def text_request(
    model: str,
    prompt: str,
    *,
    temperature: float | None = None,
    candidate_count: int | None = None,
    max_output_tokens: int | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    safety_settings: SafetySettingsInput = (),
    stop_sequences: Sequence[str] = (),
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
    logprobs: int | None = None,
    logit_bias: Mapping[str, float] | None = None,
    seed: int | None = None,
) -> pb.GenerateTextRequest:
    """The GenerateTextRequest that generate_text and stream_generate_text send."""
    request = pb.GenerateTextRequest(model=model_name(model))
    request.prompt.text = prompt
    # Lists and maps only when given: most calls set none, and each costs even empty.
    if safety_settings:
        request.safety_settings.extend(_convert.safety_settings(safety_settings, "text"))
    if stop_sequences:
        request.stop_sequences.extend(stop_sequences)
    if logit_bias:
        request.logit_bias.update(logit_bias)
    optional = {
        "temperature": temperature,
        "candidate_count": candidate_count,
        "max_output_tokens": max_output_tokens,
        "top_p": top_p,
        "top_k": top_k,
        "presence_penalty": presence_penalty,
        "frequency_penalty": frequency_penalty,
        "logprobs": logprobs,
        "seed": seed,
    }
    _set_given(request, optional)
    return request


def _sending(build: Callable[P, Req], send: Callable[[Req], T]) -> Callable[P, T]:
    """A plan builder with `build`'s arguments and `send`'s docstring and result: one
    signature for the methods that send the same request."""

    @functools.wraps(build)
    def plan(*args: P.args, **kwargs: P.kwargs) -> T:
        return send(build(*args, **kwargs))

    plan.__name__ = plan.__qualname__ = send.__name__.lstrip("_")
    plan.__doc__ = send.__doc__
    # help() shows the arguments of `build` and the result of `send`.
    returns = inspect.signature(send).return_annotation
    signature = inspect.signature(build).replace(return_annotation=returns)
    setattr(plan, "__signature__", signature)  # noqa: B010 (a function declares no such field)
    return plan


def _generate_text(request: pb.GenerateTextRequest) -> Call[TextResponse]:
    """Continue a text prompt; `.text` of the result is the first candidate.

    presence_penalty, frequency_penalty, logprobs, logit_bias and seed are the Vertex AI
    text models' options (fields this contract adds to GenerateTextRequest).
    """
    return call(GENERATE_TEXT, request, TextResponse)


def _stream_generate_text(request: pb.GenerateTextRequest) -> Streamed[TextChunk]:
    """Like generate_text, yielding chunks whose `.text` is the newly added text."""
    return streamed(STREAM_GENERATE_TEXT, request, TextChunk)


class TextCalls:
    """The text and message methods of `ModelCalls`."""

    generate_text = staticmethod(_sending(text_request, _generate_text))
    stream_generate_text = staticmethod(_sending(text_request, _stream_generate_text))

    @staticmethod
    def count_text_tokens(model: str, prompt: str) -> Call[int]:
        """How many tokens a text prompt takes."""
        request = pb.CountTextTokensRequest(
            model=model_name(model), prompt=text_pb2.TextPrompt(text=prompt)
        )
        return call(COUNT_TEXT_TOKENS, request, lambda r: r.token_count)

    @staticmethod
    def generate_message(
        model: str,
        messages: MessageInput | Sequence[MessageInput],
        *,
        context: str | None = None,
        examples: Sequence[message_pb2.Example | tuple[MessageInput, MessageInput]] = (),
        temperature: float | None = None,
        candidate_count: int | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> Call[MessageResponse]:
        """The next message of a conversation; bare strings alternate authors "0" and "1"."""
        request = pb.GenerateMessageRequest(
            model=model_name(model), prompt=_convert.message_prompt(messages, context, examples)
        )
        optional = {
            "temperature": temperature,
            "candidate_count": candidate_count,
            "top_p": top_p,
            "top_k": top_k,
        }
        _set_given(request, optional)
        return call(GENERATE_MESSAGE, request, MessageResponse)

    @staticmethod
    def count_message_tokens(
        model: str,
        messages: MessageInput | Sequence[MessageInput],
        *,
        context: str | None = None,
        examples: Sequence[message_pb2.Example | tuple[MessageInput, MessageInput]] = (),
    ) -> Call[int]:
        """How many tokens a message prompt takes."""
        request = pb.CountMessageTokensRequest(
            model=model_name(model), prompt=_convert.message_prompt(messages, context, examples)
        )
        return call(COUNT_MESSAGE_TOKENS, request, lambda r: r.token_count)
