"""The built-in model catalog: base models with the limits and defaults of the real service.

Treat DEFAULT_MODELS as read-only; default_models() gives fresh copies to mutate.
"""

from __future__ import annotations

from textgen.v1 import model_pb2

# Vector length for models that embed; models not listed here use DEFAULT_EMBEDDING_DIMENSION.
DEFAULT_EMBEDDING_DIMENSION = 768
EMBEDDING_DIMENSIONS: dict[str, int] = {
    "models/embedding-gecko-001": 768,
    "models/text-embedding-004": 768,
}

_TEXT = ("generateText", "countTextTokens")
_CHAT = ("generateMessage", "countMessageTokens")
_CONTENT = ("generateContent", "countTokens")


def _model(
    name: str,
    version: str,
    *,
    display_name: str,
    description: str,
    limits: tuple[int, int],
    methods: tuple[str, ...],
    temperature: float | None = None,
    max_temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
) -> model_pb2.Model:
    """One catalog entry named models/{name}; the family is name without its version suffix."""
    input_limit, output_limit = limits
    return model_pb2.Model(
        name=f"models/{name}",
        base_model_id=name.removesuffix(f"-{version}"),
        version=version,
        display_name=display_name,
        description=description,
        input_token_limit=input_limit,
        output_token_limit=output_limit,
        supported_generation_methods=methods,
        temperature=temperature,
        max_temperature=max_temperature,
        top_p=top_p,
        top_k=top_k,
    )


DEFAULT_MODELS: tuple[model_pb2.Model, ...] = (
    _model(
        "text-bison-001",
        "001",
        display_name="PaLM 2 (Legacy)",
        description="A legacy model that completes free-form text prompts.",
        limits=(8196, 1024),
        # Tunable, as upstream's is: a model tuned from it serves generateText.
        methods=(*_TEXT, "createTunedModel"),
        temperature=0.7,
        top_p=0.95,
        top_k=40,
    ),
    _model(
        "chat-bison-001",
        "001",
        display_name="PaLM 2 Chat (Legacy)",
        description="A legacy model tuned for multi-turn conversations.",
        limits=(4096, 1024),
        methods=_CHAT,
        temperature=0.25,
        top_p=0.95,
        top_k=40,
    ),
    _model(
        "embedding-gecko-001",
        "001",
        display_name="Embedding Gecko",
        description="Turns text into vectors for search, clustering and classification.",
        limits=(1024, 1),
        methods=("embedText", "batchEmbedText", "countTextTokens"),
    ),
    _model(
        "text-embedding-004",
        "004",
        display_name="Text Embedding 004",
        description="Turns content into vectors, with a task type and an optional smaller size.",
        limits=(2048, 1),
        methods=("embedContent", "batchEmbedContents"),
    ),
    _model(
        "gemini-1.5-flash",
        "001",
        display_name="Gemini 1.5 Flash",
        description="A fast multimodal model for everyday generation tasks.",
        limits=(1048576, 8192),
        methods=_CONTENT,
        temperature=1.0,
        max_temperature=2.0,
        top_p=0.95,
        top_k=40,
    ),
    _model(
        "gemini-2.0-flash-001",
        "001",
        display_name="Gemini 2.0 Flash",
        description="A fast multimodal model with a long context window and tool use.",
        limits=(1048576, 8192),
        methods=_CONTENT,
        temperature=1.0,
        max_temperature=2.0,
        top_p=0.95,
        top_k=40,
    ),
    _model(
        "gemini-1.0-pro-001",
        "001",
        display_name="Gemini 1.0 Pro 001 (Tuning)",
        description="A text model that can be tuned on your own examples.",
        limits=(30720, 2048),
        methods=(*_CONTENT, "createTunedModel"),
        temperature=0.9,
        top_p=1.0,
        top_k=1,
    ),
)


def copy_model(model: model_pb2.Model) -> model_pb2.Model:
    """A deep copy of model."""
    copy = model_pb2.Model()
    copy.CopyFrom(model)
    return copy


def default_models() -> list[model_pb2.Model]:
    """Fresh copies of DEFAULT_MODELS, safe to change."""
    return [copy_model(model) for model in DEFAULT_MODELS]


def embedding_dimension(model: model_pb2.Model) -> int:
    """The vector length the fake engine uses for model."""
    return EMBEDDING_DIMENSIONS.get(model.name, DEFAULT_EMBEDDING_DIMENSION)


def default_model(name: str) -> model_pb2.Model:
    """A fresh copy of the default model with this resource name; KeyError when unknown."""
    for model in default_models():
        if model.name == name:
            return model
    raise KeyError(name)
