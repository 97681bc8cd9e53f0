"""What the servers share: the engine and its catalog, the stores, ids, keys and settings.

One ServerState is shared by every servicer of a server. Tuned models, datasets and
operations are kept in `stores` (textgen.server.storage); the Operations lifecycle
(textgen.server.lro.operations) works on `stores.operations`.
"""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

from textgen.server.clock import Clock, RealClock
from textgen.server.engine import Engine
from textgen.server.storage import Stores
from textgen.v1 import model_pb2

DEFAULT_PRINCIPAL = "default"
# How many rows of a batch job await the engine at once (ServerState.batch_concurrency).
DEFAULT_BATCH_CONCURRENCY = 8


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
    # Tuned models, datasets with their rows, and operations (in memory unless given).
    stores: Stores = field(default_factory=Stores)
    # Signs page tokens (textgen.server.rpc.pagination); new per server, so tokens do not
    # outlive it.
    page_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # How many rows of one batch job await the engine at once (at most a batch's
    # ROWS_PER_BATCH). How fast jobs move between stages is the pacer's business: see
    # textgen.server.lro.pacing, given to Operations.
    batch_concurrency: int = DEFAULT_BATCH_CONCURRENCY

    # The engine's catalog as last listed, and by name (see base_models).
    _catalog: tuple[Sequence[model_pb2.Model], dict[str, model_pb2.Model]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def base_models(self) -> dict[str, model_pb2.Model]:
        """The engine's catalog, by resource name; shared, so not to be changed. It is built
        again only when the engine lists its models in another sequence."""
        models = self.engine.models()
        catalog = self._catalog
        if catalog is None or catalog[0] is not models or len(catalog[1]) != len(models):
            catalog = self._catalog = (models, {model.name: model for model in models})
        return catalog[1]

    async def reset(self, seed: int | None = None) -> None:
        """Empty every store and reseed ids (stop running jobs first: see FakeServer)."""
        await self.stores.clear()
        self.ids.reseed(seed)
