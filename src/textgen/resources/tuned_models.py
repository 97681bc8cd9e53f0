"""`client.tuned_models`: TunedModelService -- tune, look up, update and delete tuned models."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeAlias, TypeVar, cast

from google.longrunning import operations_pb2
from google.protobuf import empty_pb2, field_mask_pb2

from textgen import errors
from textgen._calls import Call, LongRunning, Paged, Progress, call, method, paged
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources._base import (
    Resource,
    async_call,
    async_operation,
    async_paged,
    sync_call,
    sync_operation,
    sync_paged,
)
from textgen.resources._content import model_name
from textgen.resources._request_ids import new_request_id
from textgen.resources.models import ModelCalls
from textgen.training_data import TrainingDataError, is_path, parse_example, read_file
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

pb = tuned_model_service_pb2
TunedModel = tuned_model_pb2.TunedModel
Metadata = pb.CreateTunedModelMetadata
P = ParamSpec("P")
R = TypeVar("R")

SERVICE = "textgen.v1.TunedModelService"
# Creating starts a tuning job; each create carries a fresh request_id, so the server
# answers a resent one with the first job instead of starting a second (AIP-155).
CREATE_TUNED_MODEL = method(
    SERVICE,
    "CreateTunedModel",
    pb.CreateTunedModelRequest,
    operations_pb2.Operation,
    idempotent=True,
)
GET_TUNED_MODEL = method(
    SERVICE, "GetTunedModel", pb.GetTunedModelRequest, TunedModel, idempotent=True
)
LIST_TUNED_MODELS = method(
    SERVICE,
    "ListTunedModels",
    pb.ListTunedModelsRequest,
    pb.ListTunedModelsResponse,
    idempotent=True,
)
UPDATE_TUNED_MODEL = method(
    SERVICE, "UpdateTunedModel", pb.UpdateTunedModelRequest, TunedModel, idempotent=False
)
DELETE_TUNED_MODEL = method(
    SERVICE, "DeleteTunedModel", pb.DeleteTunedModelRequest, empty_pb2.Empty, idempotent=False
)

NAME_PREFIX = "tunedModels/"
ExampleInput: TypeAlias = tuple[str, str] | Mapping[str, str] | tuned_model_pb2.TuningExample
TrainingData: TypeAlias = (
    str | os.PathLike[str] | tuned_model_pb2.TuningExamples | Iterable[ExampleInput]
)


def tuned_model_name(name: str) -> str:
    """`x` -> `tunedModels/x`; `tunedModels/x` is kept. The one place names are normalised."""
    return name if name.startswith(NAME_PREFIX) else NAME_PREFIX + name


def _example(value: object, index: int) -> tuned_model_pb2.TuningExample:
    if isinstance(value, tuned_model_pb2.TuningExample):
        return value
    given, wanted = parse_example(value, f"training example {index}")
    return tuned_model_pb2.TuningExample(text_input=given, output=wanted)


def training_examples(data: TrainingData) -> tuned_model_pb2.TuningExamples:
    """TuningExamples from a JSONL or CSV file's path, or from pairs, dicts or protos.

    The file and dict forms are those of `textgen.training_data` (also the CLI's): inputs
    under `text_input`, `input_text`, `input` or `prompt`, outputs under `output`,
    `output_text` or `completion`. Unusable data is a UsageError saying where.
    """
    if isinstance(data, tuned_model_pb2.TuningExamples):
        return data
    try:
        if is_path(data):
            pairs = read_file(cast("str | os.PathLike[str]", data))
            examples = [tuned_model_pb2.TuningExample(text_input=a, output=b) for a, b in pairs]
        else:
            items = cast("Iterable[object]", data)
            examples = [_example(item, index) for index, item in enumerate(items)]
    except TrainingDataError as bad:
        raise errors.UsageError(str(bad)) from bad
    return tuned_model_pb2.TuningExamples(examples=examples)


def _hyperparameters(
    epoch_count: int | None,
    batch_size: int | None,
    learning_rate: float | None,
    learning_rate_multiplier: float | None,
) -> tuned_model_pb2.Hyperparameters:
    if learning_rate is not None and learning_rate_multiplier is not None:
        raise errors.UsageError(
            "pass learning_rate or learning_rate_multiplier, not both: the service accepts one"
        )
    hyper = tuned_model_pb2.Hyperparameters()
    given = {
        "epoch_count": epoch_count,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "learning_rate_multiplier": learning_rate_multiplier,
    }
    for field, value in given.items():
        if value is not None:
            setattr(hyper, field, value)
    return hyper


def _source(tuned: TunedModel, base_model: str) -> None:
    # A base model (`models/x` or `x`), or a tuned model to tune further (`tunedModels/x`).
    if base_model.startswith(NAME_PREFIX):
        tuned.tuned_model_source.tuned_model = base_model
    else:
        tuned.base_model = model_name(base_model)


def tuning_progress(metadata: Metadata) -> Progress:
    """Tuning metadata as a progress bar: completed steps of total steps."""
    return Progress(float(metadata.completed_steps), float(metadata.total_steps) or None, "steps")


def _for_tuned(plan: Callable[Concatenate[str, P], R]) -> Callable[Concatenate[str, P], R]:
    """A models plan whose first argument is a tuned model name, bare ids allowed."""

    @functools.wraps(plan)
    def planned(name: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return plan(tuned_model_name(name), *args, **kwargs)

    planned.__doc__ = f"On a tuned model (`tunedModels/x` or `x`): {plan.__doc__}"
    return planned


def _ignore(_: object) -> None:
    return None


class TunedModelCalls:
    """Each TunedModelService call as a plan; `TunedModels` and `AsyncTunedModels` run them."""

    @staticmethod
    def create(
        base_model: str,
        training_data: TrainingData,
        *,
        tuned_model_id: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        epoch_count: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        learning_rate_multiplier: float | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        request_id: str | None = None,
    ) -> LongRunning[TunedModel, Metadata]:
        """Start tuning `base_model` on `training_data`; returns the operation.

        training_data: the path of a JSONL or CSV file (as the CLI reads), (input, output)
        pairs, dicts with "text_input" (or "input_text", "input", "prompt") and "output" (or
        "output_text", "completion"), TuningExample protos, or a TuningExamples. The file
        is read when the plan is made, before anything is sent. base_model may also be a tuned
        model (`tunedModels/x`) to tune further. `operation.result()` is the ACTIVE
        TunedModel; its progress is the tuning steps done. The request carries
        `request_id` (a fresh UUID4 unless given), so the client's retries, or a call
        repeated with the same id, start one job only.
        """
        tuned = TunedModel(
            display_name=display_name or "",
            description=description or "",
            tuning_task=tuned_model_pb2.TuningTask(
                training_data=tuned_model_pb2.TuningDataset(
                    examples=training_examples(training_data)
                ),
                hyperparameters=_hyperparameters(
                    epoch_count, batch_size, learning_rate, learning_rate_multiplier
                ),
            ),
        )
        _source(tuned, base_model)
        for field, value in {"temperature": temperature, "top_p": top_p, "top_k": top_k}.items():
            if value is not None:
                setattr(tuned, field, value)
        request = pb.CreateTunedModelRequest(
            tuned_model=tuned, request_id=new_request_id(request_id)
        )
        if tuned_model_id is not None:
            request.tuned_model_id = tuned_model_id
        return LongRunning(call(CREATE_TUNED_MODEL, request), TunedModel, Metadata, tuning_progress)

    @staticmethod
    def get(name: str) -> Call[TunedModel]:
        """One tuned model, by name (`tunedModels/x` or just `x`)."""
        return call(GET_TUNED_MODEL, pb.GetTunedModelRequest(name=tuned_model_name(name)))

    @staticmethod
    def list_tuned_models(
        *, page_size: int | None = None, filter: str | None = None
    ) -> Paged[TunedModel]:
        """The caller's tuned models, a page at a time; filter holds words to match."""
        request = pb.ListTunedModelsRequest(page_size=page_size or 0, filter=filter or "")
        return paged(LIST_TUNED_MODELS, request, lambda page: page.tuned_models)

    @staticmethod
    def update(
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> Call[TunedModel]:
        """Change the given fields (only those: the update mask lists them)."""
        tuned = TunedModel(name=tuned_model_name(name))
        given: dict[str, Any] = {
            "display_name": display_name,
            "description": description,
            "temperature": temperature,
            "top_p": top_p,
            "top_k": top_k,
        }
        paths = [field for field, value in given.items() if value is not None]
        if not paths:
            raise errors.UsageError(
                "update needs at least one of display_name, description, temperature, top_p, top_k"
            )
        for field in paths:
            setattr(tuned, field, given[field])
        request = pb.UpdateTunedModelRequest(
            tuned_model=tuned, update_mask=field_mask_pb2.FieldMask(paths=paths)
        )
        return call(UPDATE_TUNED_MODEL, request)

    @staticmethod
    def delete(name: str) -> Call[None]:
        """Delete a tuned model (a running tuning job is stopped)."""
        request = pb.DeleteTunedModelRequest(name=tuned_model_name(name))
        return call(DELETE_TUNED_MODEL, request, _ignore)

    generate_text = staticmethod(_for_tuned(ModelCalls.generate_text))
    generate_content = staticmethod(_for_tuned(ModelCalls.generate_content))


c = TunedModelCalls


class TunedModels(Resource[SyncRunner]):
    """Tuned models (blocking). Every method is described in `TunedModelCalls`."""

    create = sync_operation(c.create)
    get = sync_call(c.get)
    list = sync_paged(c.list_tuned_models)
    update = sync_call(c.update)
    delete = sync_call(c.delete)
    generate_text = sync_call(c.generate_text)
    generate_content = sync_call(c.generate_content)


class AsyncTunedModels(Resource[AsyncRunner]):
    """Tuned models (asyncio): await calls, `async for` over list (no await needed)."""

    create = async_operation(c.create)
    get = async_call(c.get)
    list = async_paged(c.list_tuned_models)
    update = async_call(c.update)
    delete = async_call(c.delete)
    generate_text = async_call(c.generate_text)
    generate_content = async_call(c.generate_content)
