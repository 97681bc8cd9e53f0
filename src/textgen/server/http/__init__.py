"""HTTP/JSON beside gRPC: the contract's `google.api.http` rules served by the same handlers.

`textgen serve --http-port N`, `FakeServer(http_port=...)` and `app.serve(http_port=...)`
start it, on the event loop of the gRPC server, with aiohttp (the `http` extra). Modules:
`templates` (path templates), `routes` (routes read from the rules), `codec` (the proto3 JSON
mapping, strict), `context` (a servicer context for HTTP calls), `dispatch` (the gRPC
server's handlers and interceptors, reached by path), `streaming` (server-sent events and
JSON arrays), `errors` (Google's JSON error shape) and `server` (the aiohttp application).
"""
