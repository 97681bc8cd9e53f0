"""response_schema from pydantic models: the schema sent, and `.parsed` as model instances."""

from __future__ import annotations

import pydantic
from textgen.v1 import content_pb2

from tests.client.conftest import Api
from tests.client.stub_server import StubServer
from tests.client.test_function_calling import _reply
from textgen.resources._content import GENERATE_CONTENT


class Ingredient(pydantic.BaseModel):
    name: str
    grams: int


class Recipe(pydantic.BaseModel):
    title: str
    minutes: int
    ingredients: list[Ingredient]
    vegetarian: bool | None = None


async def test_pydantic_schema_is_sent_and_answer_parsed(api: Api, stub: StubServer) -> None:
    body = (
        '{"title": "Soup", "minutes": 20, "vegetarian": true,'
        ' "ingredients": [{"name": "leek", "grams": 300}]}'
    )
    stub.script(GENERATE_CONTENT, _reply(content_pb2.Part(text=body)))
    config = {"response_schema": Recipe}
    response = await api(lambda c: c.models.generate_content("gem", "A soup?", config=config))

    assert isinstance(response.parsed, Recipe)
    assert response.parsed.ingredients == [Ingredient(name="leek", grams=300)]
    assert response.parsed.vegetarian is True

    generation = stub.calls(GENERATE_CONTENT)[0].request.generation_config
    assert generation.response_mime_type == "application/json"
    schema = generation.response_schema
    assert schema.type == content_pb2.OBJECT
    assert list(schema.required) == ["title", "minutes", "ingredients"]
    ingredient = schema.properties["ingredients"].items  # resolved from pydantic's $defs
    assert ingredient.type == content_pb2.OBJECT
    assert ingredient.properties["grams"].type == content_pb2.INTEGER
    assert schema.properties["vegetarian"].nullable


async def test_fake_engine_answers_conform_to_the_pydantic_model(live: Api) -> None:
    config = {"response_schema": Recipe}
    response = await live(
        lambda c: c.models.generate_content("gemini-1.5-flash", "Invent a soup", config=config)
    )
    assert isinstance(response.parsed, Recipe)
    assert all(isinstance(item, Ingredient) for item in response.parsed.ingredients)
