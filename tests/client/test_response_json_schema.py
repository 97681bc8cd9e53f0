"""generate_content's response_json_schema: the dict sent as it is, `.parsed` as plain JSON."""

from __future__ import annotations

from google.protobuf import json_format
from textgen.v1 import content_pb2, generation_pb2, model_service_pb2

from tests.client.conftest import Api
from tests.client.stub_server import StubServer
from textgen.resources._content import GENERATE_CONTENT

# Keywords that Schema has no field for ($defs, $ref, additionalProperties): only the JSON
# Schema form carries them.
BOOK = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "author": {"$ref": "#/$defs/person"},
        "pages": {"type": "integer", "minimum": 1, "maximum": 900},
    },
    "required": ["title", "author", "pages"],
    "additionalProperties": False,
    "$defs": {"person": {"type": "string"}},
}


async def test_the_dict_is_sent_as_it_is(api: Api, stub: StubServer) -> None:
    body = '{"title": "Dune", "author": "Frank Herbert", "pages": 412}'
    part = content_pb2.Part(text=body)
    stub.script(
        GENERATE_CONTENT,
        model_service_pb2.GenerateContentResponse(
            candidates=[generation_pb2.Candidate(content=content_pb2.Content(parts=[part]))]
        ),
    )
    config = {"response_json_schema": BOOK}
    response = await api(lambda c: c.models.generate_content("gem", "A book?", config=config))
    assert response.parsed == {"title": "Dune", "author": "Frank Herbert", "pages": 412}
    generation = stub.calls(GENERATE_CONTENT)[0].request.generation_config
    assert generation.response_mime_type == "application/json"
    assert json_format.MessageToDict(generation.response_json_schema) == BOOK
    assert not generation.HasField("response_schema")
    assert not generation.HasField("response_json_schema_ordered")


async def test_the_fake_server_answers_in_the_schema(live: Api) -> None:
    config = {"response_json_schema": BOOK}
    response = await live(
        lambda c: c.models.generate_content("models/gemini-1.5-flash", "A book?", config=config)
    )
    assert set(response.parsed) == {"title", "author", "pages"}
    assert 1 <= response.parsed["pages"] <= 900
