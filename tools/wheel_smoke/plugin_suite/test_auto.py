"""The async fixtures under pytest-asyncio's auto mode: no marks needed."""

import textgen
from textgen.testing import FakeServer


async def test_aio_fixtures_unmarked(textgen_aio_server: FakeServer) -> None:
    async with textgen.AsyncClient(textgen_aio_server.target) as client:
        model = await client.models.get("models/text-bison-001")
    assert model.name == "models/text-bison-001"
