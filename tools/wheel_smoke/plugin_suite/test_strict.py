"""The async fixtures under pytest-asyncio's strict mode: each async test is marked."""

import grpc
import pytest

import textgen
from textgen.testing import FakeServer


@pytest.mark.asyncio
async def test_aio_fixtures(
    textgen_aio_server: FakeServer, textgen_aio_channel: grpc.aio.Channel
) -> None:
    async with textgen.AsyncClient(textgen_aio_server.target) as client:
        reply = await client.models.generate_text("models/text-bison-001", "Say hello")
    assert reply.text
    textgen_aio_server.journal.assert_called("GenerateText", times=1)
