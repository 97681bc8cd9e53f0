"""What the servers share: the engine and its catalog, the stores, ids, keys and settings.

One ServerState is shared by every servicer of a server. Tuned models, datasets and
operations are kept in `stores` (textgen.server.storage); the Operations lifecycle
(textgen.server.lro.operations) works on `stores.operations`. `limits` bounds what is
stored (textgen.server.quotas) and `request_ids` remembers the answers of idempotent
creates (textgen.server.idempotency).
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textgen.server.clock import Clock, RealClock
from textgen.server.engine import Engine
from textgen.server.idempotency import RequestIds
from textgen.server.quotas import StorageLimits
from textgen.server.storage import Stores
from textgen.v1 import model_pb2

if TYPE_CHECKING:
    # Only a type here: the job ledger is loaded with a durable store.
    from textgen.server.storage.ledger import DurableWork

DEFAULT_PRINCIPAL = "default"
# How many rows of a batch job await the engine at once (ServerState.batch_concurrency).
DEFAULT_BATCH_CONCURRENCY = 8


class IdGenerator:
    """Random ids and suffixes.

    Without a seed they come from the operating system's randomness, so a restarted server
    never issues the names it issued before (12 characters: about 62 bits). With a seed
    they repeat the same sequence on every run, for tests that predict names; such a server
    must not keep state across restarts.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._random: random.Random = random.Random()
        self.reseed(seed)

    @property
    def seeded(self) -> bool:
        """Whether the ids repeat from run to run."""
        return not isinstance(self._random, random.SystemRandom)

    def suffix(self, length: int = 5) -> str:
        """Lower-case letters and digits, starting with a letter."""
        first = self._random.choice(string.ascii_lowercase)
        rest = "".join(
            self._random.choice(string.ascii_lowercase + string.digits) for _ in range(length - 1)
        )
        return first + rest

    def reseed(self, seed: int | None) -> None:
        """Start the sequence again from a seed; None: unpredictable from now on."""
        self._random = random.SystemRandom() if seed is None else random.Random(seed)


class ServerState:
    """Everything a server's servicers share."""

    __slots__ = (
        "_catalog",
        "api_keys",
        "batch_concurrency",
        "clock",
        "durable",
        "engine",
        "ids",
        "limits",
        "page_secret",
        "request_ids",
        "stores",
    )

    def __init__(  # noqa: PLR0917  (positional, as a dataclass's __init__ was)
        self,
        engine: Engine,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        api_keys: dict[str, str] | None = None,
        stores: Stores | None = None,
        page_secret: bytes | None = None,
        batch_concurrency: int = DEFAULT_BATCH_CONCURRENCY,
        limits: StorageLimits | None = None,
        durable: DurableWork | None = None,
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock if clock is not None else RealClock()
        self.ids = ids if ids is not None else IdGenerator()
        # API key -> principal. Empty means every caller is DEFAULT_PRINCIPAL.
        self.api_keys = api_keys if api_keys is not None else {}
        # Tuned models, datasets with their rows, and operations (in memory unless given).
        self.stores = stores if stores is not None else Stores()
        # Signs page tokens (textgen.server.rpc.pagination); new per server, so tokens do
        # not outlive it.
        self.page_secret = page_secret if page_secret is not None else os.urandom(32)
        # How many rows of one batch job await the engine at once (at most a batch's
        # ROWS_PER_BATCH). How fast jobs move between stages is the pacer's business: see
        # textgen.server.lro.pacing, given to Operations.
        self.batch_concurrency = batch_concurrency
        # Rows, bytes and resources a server keeps, and how long (textgen.server.quotas).
        self.limits = limits if limits is not None else StorageLimits()
        # On a durable store, what runs its jobs so they survive the process (set by
        # app.serve).
        self.durable = durable
        # The answers of creates that carried a request_id, kept for
        # limits.request_id_seconds.
        self.request_ids = RequestIds(
            self.clock, self.limits.request_id_seconds, self.limits.request_ids
        )
        # The engine's catalog as last listed, and by name (see base_models).
        self._catalog: tuple[Sequence[model_pb2.Model], dict[str, model_pb2.Model]] | None = None

    def base_models(self) -> dict[str, model_pb2.Model]:
        """The engine's catalog, by resource name; shared, so not to be changed. It is built
        again only when the engine lists its models in another sequence."""
        models = self.engine.models()
        catalog = self._catalog
        if catalog is None or catalog[0] is not models or len(catalog[1]) != len(models):
            catalog = self._catalog = (models, {model.name: model for model in models})
        return catalog[1]

    async def reset(self, seed: int | None = None) -> None:
        """Empty every store, forget request ids and reseed ids (stop running jobs first:
        see FakeServer)."""
        await self.stores.clear()
        self.request_ids.clear()
        self.ids.reseed(seed)
