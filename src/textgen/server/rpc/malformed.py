"""Answer request bytes that do not decode with INVALID_ARGUMENT and details, not UNKNOWN.

grpc decodes a request before any servicer code runs, and a decoding failure otherwise
surfaces as a bare UNKNOWN. This interceptor wraps each method's deserializer so a bad payload
becomes a marker, and the call is then aborted through the same rich-error path as every
other rejection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

import grpc

from textgen.server.rpc.aio_types import (
    Context,
    Continuation,
    Handler,
    StreamStreamBehaviour,
    StreamUnaryBehaviour,
    UnaryStreamBehaviour,
    UnaryUnaryBehaviour,
)
from textgen.server.rpc.errors import abort, malformed_request


@dataclass(frozen=True)
class _Undecodable:
    """Stands in for a request whose bytes did not decode."""

    reason: str


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):
    """Turns decoding failures of requests into INVALID_ARGUMENT with ErrorInfo."""

    async def intercept_service(
        self,
        continuation: Continuation,
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Wrap the method's deserializer and behaviour; other handlers pass unchanged."""
        handler = await continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        method = details.method
        decode = handler.request_deserializer

        def safe_decode(data: bytes) -> object:
            try:
                return decode(data)
            except Exception as exc:  # protobuf raises DecodeError; anything else is as bad
                return _Undecodable(str(exc) or type(exc).__name__)

        async def check(request: object, context: Context) -> None:
            if isinstance(request, _Undecodable):
                await abort(context, malformed_request(method, request.reason))

        async def checked(
            requests: AsyncIterator[object], context: Context
        ) -> AsyncIterator[object]:
            async for request in requests:
                await check(request, context)
                yield request

        serialize = handler.response_serializer
        # On a grpc.aio server the behaviours are async (see textgen.server.rpc.aio_types).
        if handler.unary_unary is not None:
            inner_uu = cast("UnaryUnaryBehaviour", handler.unary_unary)

            async def unary_unary(request: object, context: Context) -> object:
                await check(request, context)
                return await inner_uu(request, context)

            return grpc.unary_unary_rpc_method_handler(unary_unary, safe_decode, serialize)
        if handler.unary_stream is not None:
            inner_us = cast("UnaryStreamBehaviour", handler.unary_stream)

            async def unary_stream(request: object, context: Context) -> AsyncIterator[object]:
                await check(request, context)
                async for response in inner_us(request, context):
                    yield response

            return grpc.unary_stream_rpc_method_handler(unary_stream, safe_decode, serialize)
        if handler.stream_unary is not None:
            inner_su = cast("StreamUnaryBehaviour", handler.stream_unary)

            async def stream_unary(requests: AsyncIterator[object], context: Context) -> object:
                return await inner_su(checked(requests, context), context)

            return grpc.stream_unary_rpc_method_handler(stream_unary, safe_decode, serialize)
        inner_ss = cast("StreamStreamBehaviour", handler.stream_stream)

        async def stream_stream(
            requests: AsyncIterator[object], context: Context
        ) -> AsyncIterator[object]:
            async for response in inner_ss(checked(requests, context), context):
                yield response

        return grpc.stream_stream_rpc_method_handler(stream_stream, safe_decode, serialize)
