"""Without aiohttp, asking for HTTP says in one line which extra to install."""

from __future__ import annotations

import sys

import pytest

from textgen._extras import MissingExtraError
from textgen.server.app import serve
from textgen.server.state import ServerState
from textgen.testing.fake_engine.engine import FakeEngine


async def test_a_missing_http_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    monkeypatch.delitem(sys.modules, "textgen.server.http.server", raising=False)
    state = ServerState(engine=FakeEngine())
    with pytest.raises(MissingExtraError) as raised:
        await serve(state, health=False, reflection=False, http_port=0)
    assert str(raised.value) == (
        "HTTP/JSON serving needs the 'http' extra: pip install 'textgen-grpc[http]'"
    )
    # gRPC alone still starts.
    running = await serve(state, health=False, reflection=False)
    assert running.http is None
    await running.stop(None)
