"""Fake tuning: a run whose loss decays smoothly and whose adapter recalls examples verbatim.

The mean loss at step ``s`` is ``FLOOR + (start - FLOOR) * exp(-decay * s)``, where ``start``
(between 1.5 and 2.5) is seeded by the examples and ``decay = min(1, 0.05 + 50 *
learning_rate)``; it falls strictly with every step, whatever the batch. The adapter answers a
prompt whose stripped text equals a training input, stripped, with that example's output
exactly (for repeated inputs the last example wins); other prompts get no answer from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textgen.testing.fake_engine.prose import stable_seed
from textgen.v1 import model_pb2

if TYPE_CHECKING:
    from textgen.server.engine_tuning import TuningParams

FLOOR = 0.05


@dataclass(frozen=True)
class TunedAdapter:
    """What a finished fake tuning run produces: its base model and what it memorised."""

    base_model: str
    answers: Mapping[str, str]

    def recall(self, prompt: str) -> str | None:
        """The trained output for prompt, or None when prompt was not a training input."""
        return self.answers.get(prompt.strip())


class Memorizer:
    """A fake training run that learns its examples by heart (FakeEngine.tune drives it)."""

    def __init__(
        self,
        base_model: model_pb2.Model,
        examples: Sequence[tuple[str, str]],
        params: TuningParams,
    ) -> None:
        self._adapter = TunedAdapter(
            base_model.name, {given.strip(): wanted for given, wanted in examples}
        )
        self._start = 1.5 + stable_seed(base_model.name, tuple(examples)) % 1001 / 1000
        self._decay = min(1.0, 0.05 + 50 * params.learning_rate)

    def step(self, step: int, epoch: int, batch: Sequence[tuple[str, str]]) -> float:
        """The mean loss after training on batch at this step."""
        return FLOOR + (self._start - FLOOR) * math.exp(-self._decay * step)

    def finish(self) -> TunedAdapter:
        """The adapter to generate with."""
        return self._adapter
