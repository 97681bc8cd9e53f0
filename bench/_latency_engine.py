"""An engine for the replica benchmarks whose rows wait rather than compute: the fake engine,
each generation first awaiting LATENCY_SECONDS, as a call to a model server on other
machines (a GPU box, a hosted API) would. Started with
`textgen serve --engine _latency_engine:make` from bench/."""

from __future__ import annotations

import asyncio

from textgen.server.engine import GenerationInput, GenerationOutput
from textgen.testing.fake_engine import FakeEngine

LATENCY_SECONDS = 0.05


class LatencyEngine(FakeEngine):
    """The fake engine's answers, each after LATENCY_SECONDS of waiting off the CPU."""

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        """Wait, then answer as the fake engine does."""
        await asyncio.sleep(LATENCY_SECONDS)
        return await super().generate(request)


def make() -> LatencyEngine:
    """The factory `--engine _latency_engine:make` calls."""
    return LatencyEngine()
