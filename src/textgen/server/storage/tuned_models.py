"""The tuned model store: tuned models with what generation and tuning need besides the proto."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from textgen.server.storage.table import Table, Versioned
from textgen.v1 import model_pb2, tuned_model_pb2


class TunedModelRecord(NamedTuple):
    """A tuned model, its owner, the base model it runs on and its training examples.

    The stored `model` leaves out the training data (it is in `examples`). `adapter` is what
    the engine's tuning produced (GenerationInput.adapter); stores keep it as given, so it is
    shared, never copied, and must not be changed once set.
    """

    model: tuned_model_pb2.TunedModel
    owner: str
    base_model: model_pb2.Model
    examples: tuple[tuple[str, str], ...]
    adapter: object | None = None
    operation_name: str = ""

    @property
    def name(self) -> str:
        """The tuned model's name, `tunedModels/{id}` (unique among its owner's)."""
        return self.model.name


def search_text(model: tuned_model_pb2.TunedModel) -> str:
    """What a listing's `words` are looked for in: the display name and the description,
    lower-cased."""
    return f"{model.display_name}\n{model.description}".lower()


class TunedModelStore(Table[TunedModelRecord], Protocol):
    """Tuned models by owner and name (see textgen.server.storage.table for what is
    atomic)."""

    async def list(
        self,
        *,
        owner: str | None = None,
        prefix: str = "",
        words: Sequence[str] = (),
        start: int = 0,
        limit: int | None = None,
    ) -> list[Versioned[TunedModelRecord]]:
        """Tuned models in creation order that match every filter given: owned by `owner`
        (None: anyone's), named with `prefix`, and with each of `words` found, ignoring
        case, in the display name or the description; then the `limit` matches (None: all)
        from match number `start` on."""
        ...
