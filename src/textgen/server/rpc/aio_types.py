"""Type names for grpc.aio server code: contexts, method handlers and interceptor continuations.

grpc.aio reuses `grpc.RpcMethodHandler`, whose stubs describe the blocking server: there the
behaviours take a `grpc.ServicerContext` and return (or iterate) plainly. On a grpc.aio server
they are coroutine functions and async generators taking a `grpc.aio.ServicerContext`
(textgen.server.rpc.policy names those, for the policies that wrap them).

The names are strings: grpc's runtime classes are not all generic, so only type checkers
read them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import grpc
import grpc.aio

# The context of any method, for helpers that serve them all (abort, read metadata).
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
# A handler of any method: interceptors see every method of the server.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Continuation: TypeAlias = "Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]"
