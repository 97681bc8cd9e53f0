"""The built-in catalog: names, limits, methods and sampling defaults."""

from __future__ import annotations

import pytest
from textgen.v1 import model_pb2

from textgen.testing.fake_engine.catalog import DEFAULT_MODELS, default_model, default_models
from textgen.testing.fake_engine.engine import FakeEngine

KNOWN_METHODS = {
    "generateText",
    "countTextTokens",
    "generateMessage",
    "countMessageTokens",
    "embedText",
    "batchEmbedText",
    "generateContent",
    "countTokens",
    "embedContent",
    "batchEmbedContents",
    "createTunedModel",
}


@pytest.mark.parametrize(
    ("name", "limits", "methods"),
    [
        (
            "models/text-bison-001",
            (8196, 1024),
            ["generateText", "countTextTokens", "createTunedModel"],
        ),
        ("models/chat-bison-001", (4096, 1024), ["generateMessage", "countMessageTokens"]),
        (
            "models/embedding-gecko-001",
            (1024, 1),
            ["embedText", "batchEmbedText", "countTextTokens"],
        ),
        ("models/text-embedding-004", (2048, 1), ["embedContent", "batchEmbedContents"]),
        ("models/gemini-1.5-flash", (1048576, 8192), ["generateContent", "countTokens"]),
        ("models/gemini-2.0-flash-001", (1048576, 8192), ["generateContent", "countTokens"]),
        (
            "models/gemini-1.0-pro-001",
            (30720, 2048),
            ["generateContent", "countTokens", "createTunedModel"],
        ),
    ],
)
def test_limits_and_methods(name: str, limits: tuple[int, int], methods: list[str]) -> None:
    model = default_model(name)
    assert (model.input_token_limit, model.output_token_limit) == limits
    assert list(model.supported_generation_methods) == methods


def test_sampling_defaults() -> None:
    def defaults(name: str) -> tuple[float, float, int]:
        model = default_model(name)
        return (round(model.temperature, 4), round(model.top_p, 4), model.top_k)

    assert defaults("models/text-bison-001") == (0.7, 0.95, 40)
    assert defaults("models/chat-bison-001") == (0.25, 0.95, 40)
    assert defaults("models/gemini-1.0-pro-001") == (0.9, 1.0, 1)
    flash = default_model("models/gemini-1.5-flash")
    assert (flash.temperature, flash.max_temperature) == (1.0, 2.0)
    gecko = default_model("models/embedding-gecko-001")
    assert not gecko.HasField("temperature") and not gecko.HasField("top_k")


def test_every_model_is_fully_described() -> None:
    for model in DEFAULT_MODELS:
        assert model.name == f"models/{model.base_model_id}-{model.version}" or (
            model.name == f"models/{model.base_model_id}"
        )
        assert model.display_name and model.description and model.version
        assert set(model.supported_generation_methods) <= KNOWN_METHODS


def test_copies_are_independent_of_the_catalog() -> None:
    copy = default_models()[0]
    copy.input_token_limit = 1
    assert DEFAULT_MODELS[0].input_token_limit == 8196
    with pytest.raises(KeyError):
        default_model("models/nope")


def test_engine_serves_the_default_or_a_custom_catalog() -> None:
    assert [model.name for model in FakeEngine().models()] == [m.name for m in DEFAULT_MODELS]
    custom = model_pb2.Model(name="models/tiny-001", base_model_id="tiny", version="001")
    engine = FakeEngine(catalog=[custom])
    assert [model.name for model in engine.models()] == ["models/tiny-001"]
    assert engine.embedding_dimension(custom) == 768
    assert FakeEngine(catalog=[]).models() == []
