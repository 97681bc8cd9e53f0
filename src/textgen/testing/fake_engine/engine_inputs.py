"""Build GenerationInput for engine tests, with sampling defaults resolved from the model."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from textgen.server.engine import GenerationInput, SamplingParams
from textgen.v1 import content_pb2, model_pb2

# What a model without a temperature or top_p default samples with.
FALLBACK_TEMPERATURE = 1.0
FALLBACK_TOP_P = 1.0


def sampling_for(model: model_pb2.Model, **overrides: Any) -> SamplingParams:  # noqa: ANN401
    """The model's defaults (one candidate, output_token_limit tokens), then overrides."""
    defaults = SamplingParams(
        temperature=model.temperature if model.HasField("temperature") else FALLBACK_TEMPERATURE,
        top_p=model.top_p if model.HasField("top_p") else FALLBACK_TOP_P,
        top_k=model.top_k if model.HasField("top_k") else None,
        candidate_count=1,
        max_output_tokens=model.output_token_limit,
    )
    return dataclasses.replace(defaults, **overrides)


def user_turn(*parts: str | content_pb2.Part, role: str = "user") -> content_pb2.Content:
    """One turn from text and parts, in order."""
    return content_pb2.Content(
        role=role,
        parts=[content_pb2.Part(text=part) if isinstance(part, str) else part for part in parts],
    )


def generation_input(
    model: model_pb2.Model,
    prompt: str | Sequence[content_pb2.Content],
    *,
    system: str | None = None,
    tools: Sequence[content_pb2.Tool] = (),
    tool_config: content_pb2.ToolConfig | None = None,
    adapter: object | None = None,
    **params: Any,  # noqa: ANN401  (SamplingParams fields, checked by dataclasses.replace)
) -> GenerationInput:
    """A request for prompt (one user turn, or whole turns); params override SamplingParams."""
    return GenerationInput(
        model=model,
        contents=[user_turn(prompt)] if isinstance(prompt, str) else list(prompt),
        params=sampling_for(model, **params),
        adapter=adapter,
        system_instruction=user_turn(system, role="") if system is not None else None,
        tools=tools,
        tool_config=tool_config,
    )
