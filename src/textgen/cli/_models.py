"""Which API family serves a model: read from its `supported_generation_methods`.

`generate`, `stream`, `count-tokens` and `embed` accept any model. They fetch the model (for a
tuned model, its base model) and call the family it supports, preferring the newer content
API: `generateContent` models get GenerateContent / CountTokens / EmbedContent, `generateText`
models GenerateText / CountTextTokens / EmbedText, and chat models GenerateMessage /
CountMessageTokens. `--api` skips the lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from textgen.client import Client

Api = Literal["content", "text", "message"]
APIS: tuple[Api, ...] = ("content", "text", "message")
AUTO = "auto"

# (REST method name, API family), best first, for each kind of call.
GENERATE: Sequence[tuple[str, Api]] = (
    ("generateContent", "content"),
    ("generateText", "text"),
    ("generateMessage", "message"),
)
COUNT: Sequence[tuple[str, Api]] = (
    ("countTokens", "content"),
    ("countTextTokens", "text"),
    ("countMessageTokens", "message"),
)
EMBED: Sequence[tuple[str, Api]] = (
    ("embedContent", "content"),
    ("batchEmbedContents", "content"),
    ("embedText", "text"),
    ("batchEmbedText", "text"),
)


def full_name(model: str) -> str:
    """`gemini-1.5-flash` -> `models/gemini-1.5-flash`; names with a collection are kept."""
    return model if "/" in model else f"models/{model}"


def supported_methods(client: Client, model: str) -> frozenset[str]:
    """The model's supported_generation_methods (a tuned model's come from its base)."""
    name = full_name(model)
    if name.startswith("tunedModels/"):
        tuned = client.tuned_models.get(name)
        name = tuned.base_model or tuned.tuned_model_source.base_model
    return frozenset(client.models.get(name).supported_generation_methods)


def choose(
    client: Client, model: str, requested: str, preferences: Sequence[tuple[str, Api]]
) -> Api:
    """The API family to call: `requested` unless it is "auto", else the model's best match.

    A model that supports none of them gets the first family, so that the server explains.
    """
    if requested != AUTO:
        return _api(requested)
    methods = supported_methods(client, model)
    for method, api in preferences:
        if method in methods:
            return api
    return preferences[0][1]


def _api(text: str) -> Api:
    for api in APIS:
        if api == text:
            return api
    raise ValueError(f"unknown API family {text!r}; choose one of {', '.join(APIS)}")
