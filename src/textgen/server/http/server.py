"""The HTTP/JSON server: aiohttp on the event loop the gRPC server runs on.

aiohttp serves HTTP/1.1 (the protocol, keep-alive, chunked bodies); everything else is the
contract's: a request is matched against the routes read from the `google.api.http` rules
(routes.py), decoded by the proto3 JSON mapping (codec.py), and run by the handler a gRPC call
of the same path would run, shared policies included (dispatch.py), with an HTTP servicer
context (context.py). A single response is one JSON object; streamed responses are
server-sent events with `alt=sse`, else a JSON array (streaming.py). Errors use Google's JSON
error shape (errors.py).

The API key is read from the `x-goog-api-key` header (or any form the gRPC server accepts, as
headers) and from the `key` query parameter. A request that does not decode is refused only
after its key has been checked, as over gRPC, so a caller without a valid key learns nothing
about what it sent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

import grpc
import grpc.aio
from aiohttp import web
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

from textgen.apis import Api
from textgen.server.address import AddressUnavailableError
from textgen.server.http.codec import dumps, read_request, to_json
from textgen.server.http.context import HttpAbort, HttpContext
from textgen.server.http.dispatch import Dispatcher, call_single, call_streaming
from textgen.server.http.errors import error_body, http_status, plain_error
from textgen.server.http.routes import RouteTable, routes_for
from textgen.server.http.streaming import JSON_CONTENT_TYPE, Framing
from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.auth import GOOGLE_API_KEY_HEADER, api_key, principal_for_key
from textgen.server.rpc.errors import ServiceError

_LOG = logging.getLogger(__name__)

# The largest request body accepted, as gRPC's default receive limit.
MAX_BODY = 4 * 1024 * 1024
# Google's header for a call's own deadline, in seconds.
TIMEOUT_HEADER = "x-server-timeout"
# Headers that describe the HTTP exchange, not the call: kept out of the call's metadata.
_TRANSPORT_HEADERS = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "accept-encoding"}
)


class HttpServer:
    """A started HTTP server: its port, and how to stop it."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self._runner = runner
        self.port = port

    def __repr__(self) -> str:
        return f"HttpServer(port={self.port})"

    async def stop(self) -> None:
        """Close the listening socket and the open connections."""
        await self._runner.cleanup()


async def serve_http(
    served: Iterable[Api],
    handlers: Sequence[grpc.GenericRpcHandler],
    interceptors: Sequence[grpc.aio.ServerInterceptor],
    api_keys: Mapping[str, str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
) -> HttpServer:
    """Serve the http rules of the flavours `served` with the gRPC server's `handlers`,
    through its `interceptors` (outermost first)."""
    dispatcher = Dispatcher(handlers, interceptors)
    return await start_http(routes_for(served), dispatcher, api_keys, host=host, port=port)


async def start_http(
    routes: RouteTable,
    dispatcher: Dispatcher,
    api_keys: Mapping[str, str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
) -> HttpServer:
    """Serve `routes` on host:port (0 picks a free port) on the running loop."""
    calls = _Calls(routes, dispatcher, api_keys)
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_route("*", "/{tail:.*}", calls.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=False)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise AddressUnavailableError(
            f"cannot listen on {host}:{port} for HTTP: {error}"
        ) from error
    bound = runner.addresses[0][1]
    return HttpServer(runner, int(bound))


class _Calls:
    """The one aiohttp handler: every request goes through `handle`."""

    def __init__(
        self, routes: RouteTable, dispatcher: Dispatcher, api_keys: Mapping[str, str]
    ) -> None:
        self._routes = routes
        self._dispatcher = dispatcher
        self._api_keys = api_keys

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one HTTP request."""
        path = request.rel_url.raw_path
        found = self._routes.match(request.method, path)
        if found is None:
            return _no_route(request.method, path, self._routes.allows(path))
        route, bound = found
        metadata = _metadata(request)
        handler = await self._dispatcher.handler(route.path, metadata)
        if handler is None:
            message = f"{route.path.removeprefix('/')} is not served here"
            return _json(plain_error(code_pb2.UNIMPLEMENTED, message), 501)
        body = await request.read()
        try:
            call = read_request(route, bound, request.rel_url.query.items(), body)
        except ServiceError as error:
            return _error(self._refusal(metadata, error))
        context = cast(
            "Context",
            HttpContext(
                metadata,
                peer=request.remote or "",
                timeout=_timeout(request),
                disconnected=lambda: request.transport is None or request.transport.is_closing(),
            ),
        )
        if route.streaming:
            return await _stream(request, handler, call, context)
        try:
            response = await call_single(handler, call, context)
        except HttpAbort as abort:
            return _error(abort.status)
        except Exception as exc:  # the error policy maps servicers' errors; this is ours
            _LOG.error("HTTP call failed", exc_info=exc)
            return _error(_internal(exc))
        return _json(to_json(response), 200)

    def _refusal(self, metadata: list[tuple[str, str]], error: ServiceError) -> status_pb2.Status:
        # An undecodable request: a caller without a valid key is told only that.
        try:
            principal_for_key(self._api_keys, api_key(metadata))
        except ServiceError as unauthenticated:
            return unauthenticated.status
        return error.status


async def _stream(
    request: web.Request,
    handler: Handler,
    call: Message,
    context: Context,
) -> web.StreamResponse:
    alt = request.rel_url.query.get("alt", request.rel_url.query.get("$alt", "json"))
    framing = Framing(sse=alt == "sse")
    responses = call_streaming(handler, call, context)
    response: web.StreamResponse | None = None
    try:
        async for message in responses:
            if response is None:
                response = web.StreamResponse(status=200)
                response.content_type = framing.content_type
                response.charset = "utf-8"
                await response.prepare(request)
            await response.write(framing.item(to_json(message)))
    except (ConnectionResetError, ConnectionError):
        # The caller went away: stop the stream where it stands.
        with contextlib.suppress(Exception):
            await responses.aclose()  # type: ignore[attr-defined]
        return response or web.StreamResponse()
    except Exception as exc:  # an abort (or a failure of ours) ends the stream
        status = exc.status if isinstance(exc, HttpAbort) else _internal(exc)
        if not isinstance(exc, HttpAbort):
            _LOG.error("HTTP stream failed", exc_info=exc)
        if response is None:
            return _error(status)
        await response.write(framing.item(error_body(status)))
    if response is None:
        response = web.StreamResponse(status=200)
        response.content_type = framing.content_type
        response.charset = "utf-8"
        await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        await response.write(framing.end())
        await response.write_eof()
    return response


def _metadata(request: web.Request) -> list[tuple[str, str]]:
    metadata = [
        (name.lower(), value)
        for name, value in request.headers.items()
        if name.lower() not in _TRANSPORT_HEADERS
    ]
    key = request.rel_url.query.get("key")
    if key:
        metadata.append((GOOGLE_API_KEY_HEADER, key))
    return metadata


def _timeout(request: web.Request) -> float | None:
    text = request.headers.get(TIMEOUT_HEADER)
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _internal(exc: BaseException) -> status_pb2.Status:
    return status_pb2.Status(
        code=code_pb2.INTERNAL, message=f"Internal error ({type(exc).__name__})"
    )


def _json(value: object, status: int) -> web.Response:
    return web.Response(
        body=dumps(value), status=status, content_type=JSON_CONTENT_TYPE, charset="utf-8"
    )


def _error(status: status_pb2.Status) -> web.Response:
    return _json(error_body(status), http_status(status.code))


def _no_route(verb: str, path: str, verbs: list[str]) -> web.Response:
    if verbs:
        message = f"{verb} is not allowed on {path}: use {', '.join(sorted(verbs))}"
        body = {"error": {"code": 405, "message": message, "status": "UNIMPLEMENTED"}}
        response = _json(body, 405)
        response.headers["Allow"] = ", ".join(sorted(verbs))
        return response
    return _json(plain_error(code_pb2.NOT_FOUND, f"No route for {verb} {path}"), 404)
