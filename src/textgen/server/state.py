"""What the servers remember: the model catalog, tuned models and datasets, by owner.

One ServerState is shared by every servicer of a server. Operations live in their own store
(textgen.server.lro.operations) and are referenced from here by name only.
"""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass, field

from textgen.server.clock import Clock, RealClock
from textgen.server.engine import Engine
from textgen.v1 import dataset_pb2, model_pb2, tuned_model_pb2

DEFAULT_PRINCIPAL = "default"
# How many rows of a batch job await the engine at once (ServerState.batch_concurrency).
DEFAULT_BATCH_CONCURRENCY = 8


@dataclass
class TunedModelRecord:
    """A tuned model with what the engine and the servicers need besides the proto."""

    model: tuned_model_pb2.TunedModel
    owner: str
    base_model: model_pb2.Model
    examples: list[tuple[str, str]]
    # Set by the tuning job when it finishes: what GenerationInput.adapter carries.
    adapter: object | None = None
    operation_name: str = ""


@dataclass
class DatasetRecord:
    """A stored dataset and its rows (DatasetPrompt rows or DatasetResult rows, by kind)."""

    dataset: dataset_pb2.Dataset
    owner: str
    rows: list[dataset_pb2.DatasetRow] = field(default_factory=list)


class IdGenerator:
    """Random ids and suffixes from a seedable source, so tests can predict names."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    def suffix(self, length: int = 5) -> str:
        """Lower-case letters and digits, starting with a letter."""
        first = self._random.choice(string.ascii_lowercase)
        rest = "".join(
            self._random.choice(string.ascii_lowercase + string.digits) for _ in range(length - 1)
        )
        return first + rest

    def reseed(self, seed: int | None) -> None:
        """Start the sequence again from a seed."""
        self._random.seed(seed)


@dataclass
class ServerState:
    """Everything a server's servicers share."""

    engine: Engine
    clock: Clock = field(default_factory=RealClock)
    ids: IdGenerator = field(default_factory=IdGenerator)
    # API key -> principal. Empty means every caller is DEFAULT_PRINCIPAL.
    api_keys: dict[str, str] = field(default_factory=dict)
    tuned_models: dict[str, TunedModelRecord] = field(default_factory=dict)
    datasets: dict[str, DatasetRecord] = field(default_factory=dict)
    # Signs page tokens (textgen.server.rpc.pagination); new per server, so tokens do not
    # outlive it.
    page_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # How many rows of one batch job await the engine at once (at most a batch's
    # ROWS_PER_BATCH). How fast jobs move between stages is the pacer's business: see
    # textgen.server.lro.pacing, given to Operations.
    batch_concurrency: int = DEFAULT_BATCH_CONCURRENCY

    def base_models(self) -> dict[str, model_pb2.Model]:
        """The engine's catalog, by resource name."""
        return {model.name: model for model in self.engine.models()}

    def reset(self, seed: int | None = None) -> None:
        """Forget every tuned model and dataset, and reseed ids."""
        self.tuned_models.clear()
        self.datasets.clear()
        self.ids.reseed(seed)
