"""Model lookups for generation and GetModel, with base models remembered per (name, RPC).

Resolving a base model's name gives the same answer for as long as the engine's catalog
stays the same, so ModelResolver keeps each answer: a later request for that name and RPC
skips the syntax check, the catalog lookup and the supported-method check. Tuned models are
looked up in their store every time, among the caller's own (a tuned model's name is its
owner's: two principals may each have `tunedModels/x`), and since their state can change.
Errors are those of `resolve_model`, in the same order. GetModel's `describe` answers a
tuned model's name too, as a Model built from its record each time.
"""

from __future__ import annotations

from collections.abc import Iterable

from textgen.server.generation.resolution import (
    ResolvedModel,
    base_model,
    resolve_model,
    tuned_as_model,
    tuned_model,
)
from textgen.server.names import TUNED_MODEL, model_name_violations
from textgen.server.rpc.auth import current_principal
from textgen.server.rpc.errors import FieldViolation
from textgen.server.state import ServerState
from textgen.server.validation.plan import ensure
from textgen.v1 import model_pb2


class ModelResolver:
    """resolve_model for one server, remembering base models until the catalog changes."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._catalog: dict[str, model_pb2.Model] | None = None
        # (name, RPC, whether tuned names are allowed) -> the resolved base model.
        self._known: dict[tuple[str, str, bool], ResolvedModel] = {}
        # Base model name -> the model, for GetModel.
        self._bases: dict[str, model_pb2.Model] = {}

    def base(self, name: str, field: str = "model") -> model_pb2.Model:
        """The base model named `name` (see `base_model`: INVALID_ARGUMENT on `field` for bad
        syntax, else NOT_FOUND), remembered once found."""
        self._follow_catalog()
        known = self._bases.get(name)
        if known is None:
            known = self._bases[name] = base_model(self._state, name, field)
        return known

    async def describe(self, name: str, field: str = "name") -> model_pb2.Model:
        """What GetModel answers: the base model named `name`, or the caller's tuned model
        described as a Model (`tuned_as_model`), whatever its state. INVALID_ARGUMENT on
        `field` for bad syntax, NOT_FOUND for a model that is missing or someone else's."""
        if not TUNED_MODEL.in_collection(name):
            return self.base(name, field)
        ensure(model_name_violations(name, field, tuned=True))
        record = await tuned_model(self._state, name, current_principal())
        return tuned_as_model(record)

    async def resolve(
        self,
        name: str,
        rpc: str,
        checks: Iterable[Iterable[FieldViolation]] = (),
        *,
        allow_tuned: bool = True,
    ) -> ResolvedModel:
        """One INVALID_ARGUMENT for the name's syntax and every violation in `checks`, then
        the model that serves `rpc` for the caller."""
        self._follow_catalog()
        key = (name, rpc, allow_tuned)
        known = self._known.get(key)
        if known is not None:
            ensure(*checks)  # the name passed its syntax check the first time
            return known
        ensure(model_name_violations(name, tuned=allow_tuned), *checks)
        resolved = await resolve_model(
            self._state, name, current_principal(), rpc=rpc, allow_tuned=allow_tuned
        )
        if resolved.tuned is None:
            self._known[key] = resolved
        return resolved

    def _follow_catalog(self) -> None:
        """Forget every remembered model when the engine lists a different catalog."""
        catalog = self._state.base_models()
        if catalog is not self._catalog:
            self._catalog, self._known, self._bases = catalog, {}, {}
