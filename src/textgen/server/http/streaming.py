"""How a server-streaming method's responses are framed over HTTP.

With `alt=sse` each response is one server-sent event, `data: <json>` and a blank line, with
CRLF line ends as Google's servers send them (google-genai splits events on blank lines and
reads each `data: ` line). Otherwise the responses form one JSON array, written as they come:
`[` before the first, `,` between, `]` at the end. An error after the first response is sent
in the same framing, as the last event or the last element (Google's JSON error shape), since
the HTTP status has already gone out.
"""

from __future__ import annotations

from typing import Any

from textgen.server.http.codec import dumps

SSE_CONTENT_TYPE = "text/event-stream"
JSON_CONTENT_TYPE = "application/json"


class Framing:
    """The bytes around each streamed JSON value, for one response."""

    def __init__(self, sse: bool) -> None:
        self.sse = sse
        self._count = 0

    @property
    def content_type(self) -> str:
        """The response's content type."""
        return SSE_CONTENT_TYPE if self.sse else JSON_CONTENT_TYPE

    def item(self, value: Any) -> bytes:  # noqa: ANN401
        """One response (or a closing error), framed."""
        data = dumps(value)
        self._count += 1
        if self.sse:
            return b"data: " + data + b"\r\n\r\n"
        return (b"[" if self._count == 1 else b",\r\n") + data

    def end(self) -> bytes:
        """What closes the stream."""
        if self.sse:
            return b""
        return b"]" if self._count else b"[]"
