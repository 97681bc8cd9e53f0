"""TunedModelService servicer: create (starting a tuning job), get, list, update, delete."""

from __future__ import annotations

import contextlib
import functools
import re

import grpc
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2

from textgen.server.clock import timestamp
from textgen.server.generation.resolution import base_model, tuned_model
from textgen.server.jobs.tuning import public_model, start_tuning
from textgen.server.lro.operations import Operations, current_operation
from textgen.server.names import (
    GENERATED_ID_LENGTH,
    TUNED_MODEL,
    TUNED_MODEL_ID_MAX,
    name_violations,
)
from textgen.server.quotas import check_resource_quota
from textgen.server.rpc.auth import current_principal
from textgen.server.rpc.errors import FieldViolation, ServiceError, invalid_argument, not_found
from textgen.server.rpc.pagination import DEFAULT_TUNED_MODELS, fetch_page
from textgen.server.state import ServerState
from textgen.server.storage import TunedModelRecord, modify
from textgen.server.validation.generation_rules import require_method
from textgen.server.validation.plan import ensure, violations
from textgen.server.validation.rules import update_mask_violations
from textgen.server.validation.tuning_rules import (
    CREATE_TUNED_MODEL_RULES,
    TUNED_MODEL_RULES,
    TUNING_TASK_RULES,
    UPDATABLE_TUNED_MODEL_FIELDS,
)
from textgen.v1 import (
    model_pb2,
    tuned_model_pb2,
    tuned_model_service_pb2,
    tuned_model_service_pb2_grpc,
)

TunedModel = tuned_model_pb2.TunedModel

SUFFIX_LENGTH = 6
OWNER_ME = "owner:me"
READERS_EVERYONE = "readers:everyone"


def slug(display_name: str) -> str:
    """A display name as the start of an id: lower case, runs of other characters as one
    `-`, starting with a letter; "" when nothing usable is left."""
    text = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")
    text = re.sub(r"^[^a-z]+", "", text)
    return text[: TUNED_MODEL_ID_MAX - SUFFIX_LENGTH - 1].rstrip("-")


def parse_filter(text: str) -> tuple[list[str], bool]:
    """(free-text words, shared_with_everyone) from a ListTunedModels filter.

    `owner:me` is the default and may be given explicitly. `readers:everyone` asks for
    models shared with everyone; this server shares nothing (access follows the API key),
    so it matches no model. Any other `key:value` term is INVALID_ARGUMENT on `filter`.
    """
    words: list[str] = []
    everyone = False
    for term in text.split():
        lowered = term.lower()
        if lowered == OWNER_ME:
            continue
        if lowered == READERS_EVERYONE:
            everyone = True
        elif ":" in term:
            raise invalid_argument([FieldViolation("filter", f"unknown operator {term!r}")])
        else:
            words.append(lowered)
    return words, everyone


class TunedModelServicer(tuned_model_service_pb2_grpc.TunedModelServiceServicer):
    """Serves TunedModelService; tuning jobs run through textgen.server.jobs.tuning."""

    def __init__(self, state: ServerState, operations: Operations) -> None:
        self._state = state
        self._operations = operations

    async def CreateTunedModel(
        self,
        request: tuned_model_service_pb2.CreateTunedModelRequest,
        context: grpc.aio.ServicerContext[
            tuned_model_service_pb2.CreateTunedModelRequest, operations_pb2.Operation
        ],
    ) -> operations_pb2.Operation:
        principal = current_principal()
        source = request.tuned_model
        ensure(
            violations(request, CREATE_TUNED_MODEL_RULES),
            violations(source, [*TUNED_MODEL_RULES, *TUNING_TASK_RULES], "tuned_model"),
        )
        base = await self._source_base(source, principal)

        async def create() -> operations_pb2.Operation:
            await check_resource_quota(self._state.stores, self._state.limits, principal)
            name = self._new_name(request.tuned_model_id, source.display_name)
            record = TunedModelRecord(
                model=self._initial_model(source, name, base),
                owner=principal,
                base_model=base,
                examples=tuple(
                    (example.text_input, example.output)
                    for example in source.tuning_task.training_data.examples.examples
                ),
            )
            # Stored by start_tuning, which answers ALREADY_EXISTS when the caller already
            # has a tuned model of this name (other principals' names are their own).
            return await start_tuning(self._state, self._operations, record)

        return await self._state.request_ids.once(
            principal,
            "CreateTunedModel",
            request.request_id,
            operations_pb2.Operation,
            create,
            refresh=functools.partial(current_operation, self._operations, principal),
        )

    async def _source_base(self, source: TunedModel, principal: str) -> model_pb2.Model:
        # The base model to tune: named directly, or under the caller's source tuned model.
        if source.WhichOneof("source_model") == "tuned_model_source":
            ensure(
                name_violations(
                    source.tuned_model_source.tuned_model,
                    "tuned_model.tuned_model_source.tuned_model",
                    TUNED_MODEL,
                )
            )
            parent = await tuned_model(
                self._state, source.tuned_model_source.tuned_model, principal
            )
            base = parent.base_model
        else:
            base = base_model(self._state, source.base_model, "tuned_model.base_model")
        require_method(base, "CreateTunedModel", "tuned_model.base_model")
        return base

    def _new_name(self, requested_id: str, display_name: str) -> str:
        if requested_id:
            return TUNED_MODEL.name(requested_id)
        start = slug(display_name)
        if start:
            return TUNED_MODEL.name(f"{start}-{self._state.ids.suffix(SUFFIX_LENGTH)}")
        return TUNED_MODEL.name(self._state.ids.suffix(GENERATED_ID_LENGTH))

    def _initial_model(self, source: TunedModel, name: str, base: model_pb2.Model) -> TunedModel:
        # The stored model: what the caller sent, named, CREATING, with sampling defaults
        # taken from the base model (hyperparameter defaults are filled by start_tuning).
        # The training data is kept as the record's examples, not in the proto.
        model = TunedModel()
        model.CopyFrom(source)
        model.tuning_task.ClearField("training_data")
        model.name = name
        model.state = TunedModel.CREATING
        now = timestamp(self._state.clock)
        model.create_time.CopyFrom(now)
        model.update_time.CopyFrom(now)
        if model.WhichOneof("source_model") == "tuned_model_source":
            model.tuned_model_source.base_model = base.name
        for field in ("temperature", "top_p", "top_k"):
            if not model.HasField(field) and base.HasField(field):
                setattr(model, field, getattr(base, field))
        return model

    async def GetTunedModel(
        self,
        request: tuned_model_service_pb2.GetTunedModelRequest,
        context: grpc.aio.ServicerContext[tuned_model_service_pb2.GetTunedModelRequest, TunedModel],
    ) -> TunedModel:
        return public_model((await self._find(request.name, "name")).model)

    async def ListTunedModels(
        self,
        request: tuned_model_service_pb2.ListTunedModelsRequest,
        context: grpc.aio.ServicerContext[
            tuned_model_service_pb2.ListTunedModelsRequest,
            tuned_model_service_pb2.ListTunedModelsResponse,
        ],
    ) -> tuned_model_service_pb2.ListTunedModelsResponse:
        principal = current_principal()
        words, everyone = parse_filter(request.filter)
        store = self._state.stores.tuned_models

        async def fetch(start: int, limit: int) -> list[TunedModel]:
            if everyone:
                return []
            found = await store.list(owner=principal, words=words, start=start, limit=limit)
            return [versioned.record.model for versioned in found]

        page = await fetch_page(
            fetch,
            page_size=request.page_size,
            page_token=request.page_token,
            default_size=DEFAULT_TUNED_MODELS,
            secret=self._state.page_secret,
            binding={"method": "ListTunedModels", "filter": request.filter, "owner": principal},
        )
        return tuned_model_service_pb2.ListTunedModelsResponse(
            tuned_models=[public_model(model) for model in page.items],
            next_page_token=page.next_page_token,
        )

    async def UpdateTunedModel(
        self,
        request: tuned_model_service_pb2.UpdateTunedModelRequest,
        context: grpc.aio.ServicerContext[
            tuned_model_service_pb2.UpdateTunedModelRequest, TunedModel
        ],
    ) -> TunedModel:
        principal = current_principal()
        paths = list(request.update_mask.paths)
        named = [rule for rule in TUNED_MODEL_RULES if rule.field in paths]
        ensure(
            update_mask_violations(paths, UPDATABLE_TUNED_MODEL_FIELDS),
            name_violations(request.tuned_model.name, "tuned_model.name", TUNED_MODEL),
            violations(request.tuned_model, named, "tuned_model"),
        )
        name = request.tuned_model.name
        now = timestamp(self._state.clock)

        def change(record: TunedModelRecord) -> TunedModelRecord:
            request.update_mask.MergeMessage(
                request.tuned_model,
                record.model,
                replace_message_field=True,
                replace_repeated_field=True,
            )
            record.model.update_time.CopyFrom(now)
            return record

        written = await modify(self._state.stores.tuned_models, principal, name, change)
        if written is None:
            raise not_found(TUNED_MODEL.type, name)
        return public_model(written.record.model)

    async def DeleteTunedModel(
        self,
        request: tuned_model_service_pb2.DeleteTunedModelRequest,
        context: grpc.aio.ServicerContext[
            tuned_model_service_pb2.DeleteTunedModelRequest, empty_pb2.Empty
        ],
    ) -> empty_pb2.Empty:
        record = await self._find(request.name, "name")
        await self._state.stores.tuned_models.delete(record.owner, request.name)
        if record.model.state == TunedModel.CREATING and record.operation_name:
            # Stop the job; if its operation is already gone there is nothing to stop.
            with contextlib.suppress(ServiceError):
                await self._operations.cancel(record.operation_name, record.owner)
        return empty_pb2.Empty()

    async def _find(self, name: str, field: str) -> TunedModelRecord:
        # The caller's tuned model by name, after checking the name's syntax.
        ensure(name_violations(name, field, TUNED_MODEL))
        return await tuned_model(self._state, name, current_principal())
