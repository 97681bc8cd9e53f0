"""Model names to what a request runs: a base model, or a tuned model's base plus adapter.

Generation and counting accept `models/{model}` or `tunedModels/{tuned_model}`. A tuned
model runs on its base model with its adapter and brings its own sampling defaults. Names
are checked for syntax first (INVALID_ARGUMENT), then looked up (NOT_FOUND with
ResourceInfo); a tuned model that is not ACTIVE is FAILED_PRECONDITION.
"""

from __future__ import annotations

from typing import NamedTuple

from textgen.server.names import MODEL, TUNED_MODEL, model_name_violations
from textgen.server.rpc.auth import find_owned
from textgen.server.rpc.errors import failed_precondition, not_found
from textgen.server.state import ServerState
from textgen.server.storage import TunedModelRecord
from textgen.server.validation.generation_rules import require_method
from textgen.server.validation.plan import ensure
from textgen.v1 import model_pb2, tuned_model_pb2


class ResolvedModel(NamedTuple):
    """What a model name resolves to, with the sampling defaults that apply to it."""

    name: str
    base: model_pb2.Model
    adapter: object | None = None
    tuned: TunedModelRecord | None = None

    @property
    def temperature(self) -> float | None:
        """Default temperature: the tuned model's, else the base model's, else None."""
        if self.tuned is not None and self.tuned.model.HasField("temperature"):
            return self.tuned.model.temperature
        return self.base.temperature if self.base.HasField("temperature") else None

    @property
    def top_p(self) -> float | None:
        """Default top_p: the tuned model's, else the base model's, else None."""
        if self.tuned is not None and self.tuned.model.HasField("top_p"):
            return self.tuned.model.top_p
        return self.base.top_p if self.base.HasField("top_p") else None

    @property
    def top_k(self) -> int | None:
        """Default top_k: the tuned model's, else the base model's, else None (no top-k)."""
        if self.tuned is not None and self.tuned.model.HasField("top_k"):
            return self.tuned.model.top_k
        return self.base.top_k if self.base.HasField("top_k") else None


def base_model(state: ServerState, name: str, field: str = "model") -> model_pb2.Model:
    """A base model by `models/{model}`: INVALID_ARGUMENT for bad syntax, else NOT_FOUND."""
    ensure(model_name_violations(name, field, tuned=False))
    return _catalog_model(state, name)


def _catalog_model(state: ServerState, name: str) -> model_pb2.Model:
    """A base model by a name already checked for syntax; NOT_FOUND when not served."""
    model = state.base_models().get(name)
    if model is None:
        raise not_found(MODEL.type, name)
    return model


def tuned_as_model(record: TunedModelRecord) -> model_pb2.Model:
    """A tuned model described as a Model (what GetModel answers for `tunedModels/x`): its
    name, display name and description, its base's family, version, limits and generation
    methods (a tuned model serves those of its base), and the sampling defaults it runs
    with (its own, else its base's)."""
    tuned, base = record.model, record.base_model
    model = model_pb2.Model(
        name=tuned.name,
        base_model_id=base.base_model_id,
        version=base.version,
        display_name=tuned.display_name,
        description=tuned.description,
        input_token_limit=base.input_token_limit,
        output_token_limit=base.output_token_limit,
        supported_generation_methods=base.supported_generation_methods,
    )
    if base.HasField("max_temperature"):
        model.max_temperature = base.max_temperature
    resolved = ResolvedModel(tuned.name, base, record.adapter, record)
    if resolved.temperature is not None:
        model.temperature = resolved.temperature
    if resolved.top_p is not None:
        model.top_p = resolved.top_p
    if resolved.top_k is not None:
        model.top_k = resolved.top_k
    return model


async def tuned_model(state: ServerState, name: str, principal: str) -> TunedModelRecord:
    """The caller's tuned model by name (a copy); NOT_FOUND when missing or someone else's."""
    found = await find_owned(state.stores.tuned_models, name, principal, TUNED_MODEL.type)
    return found.record


async def resolve_model(
    state: ServerState,
    name: str,
    principal: str,
    *,
    rpc: str | None = None,
    field: str = "model",
    allow_tuned: bool = True,
) -> ResolvedModel:
    """Resolve a model name for a request, checking syntax, existence, ownership, state
    and (when `rpc` is given) that the model supports that RPC."""
    ensure(model_name_violations(name, field, tuned=allow_tuned))
    if TUNED_MODEL.in_collection(name):
        record = await tuned_model(state, name, principal)
        if record.model.state != tuned_model_pb2.TunedModel.ACTIVE:
            state_name = tuned_model_pb2.TunedModel.State.Name(record.model.state)
            raise failed_precondition(
                f"{name} is {state_name} and cannot serve requests yet",
                [("STATE", name, f"the tuned model must be ACTIVE, not {state_name}")],
                reason="TUNED_MODEL_NOT_ACTIVE",
            )
        resolved = ResolvedModel(name, record.base_model, record.adapter, record)
    else:
        resolved = ResolvedModel(name, _catalog_model(state, name))  # syntax checked above
    if rpc is not None:
        require_method(resolved.base, rpc, field)
    return resolved
