"""Type names for grpc.aio server code: contexts, method handlers and their behaviours.

grpc.aio reuses `grpc.RpcMethodHandler`, whose stubs describe the blocking server: there the
behaviours take a `grpc.ServicerContext` and return (or iterate) plainly. On a grpc.aio server
they are coroutine functions and async generators taking a `grpc.aio.ServicerContext`; the
`*Behaviour` names below say so, for code that calls a handler's behaviour itself.

The names are strings: grpc's runtime classes are not all generic, so only type checkers
read them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc
import grpc.aio

# The context of any method, for helpers that serve them all (abort, read metadata).
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
# A handler of any method: interceptors see every method of the server.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Continuation: TypeAlias = "Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]"

UnaryUnaryBehaviour: TypeAlias = "Callable[[Any, Context], Awaitable[Any]]"
UnaryStreamBehaviour: TypeAlias = "Callable[[Any, Context], AsyncIterator[Any]]"
StreamUnaryBehaviour: TypeAlias = "Callable[[AsyncIterator[Any], Context], Awaitable[Any]]"
StreamStreamBehaviour: TypeAlias = "Callable[[AsyncIterator[Any], Context], AsyncIterator[Any]]"
