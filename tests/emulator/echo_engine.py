"""A small real engine for `textgen serve --engine` tests, built on BlockingEngine.

It serves one model, counts words as tokens and answers a prompt with the prompt itself,
prefixed by the name of the worker thread that produced the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from textgen.v1 import content_pb2, model_pb2

from textgen.server.engine import (
    BlockingEngine,
    GeneratedCandidate,
    GenerationInput,
    GenerationOutput,
)

ECHO_MODEL = model_pb2.Model(
    name="models/echo-001",
    base_model_id="echo",
    version="001",
    display_name="Echo",
    description="Says the prompt back.",
    input_token_limit=64,
    output_token_limit=64,
    supported_generation_methods=["generateText", "countTextTokens"],
)


class EchoEngine(BlockingEngine):
    """Echoes the prompt; its model code is plain synchronous Python."""

    def models(self) -> Sequence[model_pb2.Model]:
        """The one echo model."""
        return [ECHO_MODEL]

    def count_tokens_sync(self, model: model_pb2.Model, text: str) -> int:
        """Words."""
        return len(text.split())

    def generate_sync(self, request: GenerationInput) -> GenerationOutput:
        """The prompt, after the worker thread's name, once per candidate."""
        text = f"[{threading.current_thread().name}] {request.prompt_text()}"
        candidates = [
            GeneratedCandidate(parts=[content_pb2.Part(text=text)], token_count=len(text.split()))
            for _ in range(request.params.candidate_count)
        ]
        return GenerationOutput(candidates, prompt_token_count=len(request.prompt_text().split()))


def make() -> EchoEngine:
    """The factory `textgen serve --engine tests.emulator.echo_engine:make` calls."""
    return EchoEngine(workers=2)


def broken() -> EchoEngine:
    """A factory that fails, as one whose model weights are missing would."""
    raise FileNotFoundError("weights/echo.bin\nsecond line that must not be printed")


def not_an_engine() -> object:
    """A factory that returns something else."""
    return object()
