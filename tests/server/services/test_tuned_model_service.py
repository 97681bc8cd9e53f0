"""TunedModelService: create (validation, naming, defaults), get, list, update, delete."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import field_mask_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2

from tests.server.conftest import violated_fields
from tests.server.env import ALICE, Env, as_user
from textgen.server.state import DEFAULT_PRINCIPAL, ServerState

TUNABLE = "models/gemini-1.0-pro-001"
TunedModel = tuned_model_pb2.TunedModel


def new_model(examples: int = 3, **fields: Any) -> TunedModel:
    data = tuned_model_pb2.TuningDataset(
        examples=tuned_model_pb2.TuningExamples(
            examples=[
                tuned_model_pb2.TuningExample(text_input=f"in {i}", output=f"out {i}")
                for i in range(examples)
            ]
        )
    )
    hyper = fields.pop("hyperparameters", None)
    task = tuned_model_pb2.TuningTask(training_data=data)
    if hyper is not None:
        task.hyperparameters.CopyFrom(hyper)
    fields.setdefault("base_model", TUNABLE)
    return TunedModel(tuning_task=task, **fields)


async def create(tuned: Any, model: TunedModel, model_id: str = "") -> Any:
    return await tuned.CreateTunedModel(
        tuned_model_service_pb2.CreateTunedModelRequest(tuned_model_id=model_id, tuned_model=model)
    )


CASES = [
    ({"model_id": "Bad_Id"}, "tuned_model_id"),
    ({"display_name": "x" * 41}, "tuned_model.display_name"),
    ({"examples": 0}, "tuned_model.tuning_task.training_data.examples.examples"),
    ({"temperature": 1.5}, "tuned_model.temperature"),
    ({"top_p": 2.0}, "tuned_model.top_p"),
    ({"top_k": 0}, "tuned_model.top_k"),
    (
        {"hyperparameters": tuned_model_pb2.Hyperparameters(epoch_count=0)},
        "tuned_model.tuning_task.hyperparameters.epoch_count",
    ),
    (
        {"hyperparameters": tuned_model_pb2.Hyperparameters(batch_size=0)},
        "tuned_model.tuning_task.hyperparameters.batch_size",
    ),
    (
        {"hyperparameters": tuned_model_pb2.Hyperparameters(learning_rate=-1)},
        "tuned_model.tuning_task.hyperparameters.learning_rate",
    ),
    (
        {"hyperparameters": tuned_model_pb2.Hyperparameters(learning_rate_multiplier=0)},
        "tuned_model.tuning_task.hyperparameters.learning_rate_multiplier",
    ),
    ({"base_model": "models/gemini-1.5-flash"}, "tuned_model.base_model"),  # not tunable
    ({"base_model": "nonsense"}, "tuned_model.base_model"),
]


@pytest.mark.parametrize(("fields", "path"), CASES)
async def test_create_rules(tuned: Any, fields: dict[str, Any], path: str) -> None:
    model_id = fields.pop("model_id", "")
    examples = fields.pop("examples", 3)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(tuned, new_model(examples, **fields), model_id)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert path in violated_fields(caught.value)


async def test_create_fills_defaults_and_hides_training_data(
    tuned: Any, state: ServerState
) -> None:
    operation = await create(tuned, new_model(display_name="My Model"), "my-model")
    assert operation.name.startswith("tunedModels/my-model/operations/")
    got = await tuned.GetTunedModel(
        tuned_model_service_pb2.GetTunedModelRequest(name="tunedModels/my-model")
    )
    assert got.state == TunedModel.CREATING
    assert got.temperature == pytest.approx(0.9)  # from the base model
    assert got.tuning_task.hyperparameters.epoch_count == 5
    assert got.tuning_task.hyperparameters.batch_size == 4
    assert not got.tuning_task.HasField("training_data")
    stored = await state.stores.tuned_models.get(DEFAULT_PRINCIPAL, "tunedModels/my-model")
    assert stored is not None and stored.record.examples[0] == ("in 0", "out 0")


async def test_name_from_display_name(tuned: Any, state: ServerState) -> None:
    await create(tuned, new_model(display_name="Sentence Translator!"))
    [name] = [found.record.name for found in await state.stores.tuned_models.list()]
    assert name.startswith("tunedModels/sentence-translator-")


async def test_duplicate_id_already_exists(tuned: Any) -> None:
    await create(tuned, new_model(), "twice")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(tuned, new_model(), "twice")
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_list_filter_and_pages(tuned: Any) -> None:
    for i in range(12):
        await create(tuned, new_model(display_name=f"alpha {i}" if i % 2 else f"beta {i}"), f"m{i}")
    first = await tuned.ListTunedModels(tuned_model_service_pb2.ListTunedModelsRequest())
    assert len(first.tuned_models) == 10  # the default for tuned models
    rest = await tuned.ListTunedModels(
        tuned_model_service_pb2.ListTunedModelsRequest(page_token=first.next_page_token)
    )
    assert len(rest.tuned_models) == 2 and not rest.next_page_token
    alphas = await tuned.ListTunedModels(
        tuned_model_service_pb2.ListTunedModelsRequest(filter="alpha owner:me")
    )
    assert len(alphas.tuned_models) == 6
    everyone = await tuned.ListTunedModels(
        tuned_model_service_pb2.ListTunedModelsRequest(filter="readers:everyone")
    )
    assert not everyone.tuned_models
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tuned.ListTunedModels(
            tuned_model_service_pb2.ListTunedModelsRequest(
                filter="beta", page_token=first.next_page_token
            )
        )
    assert violated_fields(caught.value) == ["page_token"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tuned.ListTunedModels(
            tuned_model_service_pb2.ListTunedModelsRequest(filter="color:red")
        )
    assert violated_fields(caught.value) == ["filter"]


async def test_update_mask_rules(tuned: Any) -> None:
    await create(tuned, new_model(display_name="old"), "upd")
    change = TunedModel(name="tunedModels/upd", display_name="new", description="d")
    for mask, path in [([], "update_mask"), (["base_model"], "update_mask.paths[0]")]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await tuned.UpdateTunedModel(
                tuned_model_service_pb2.UpdateTunedModelRequest(
                    tuned_model=change, update_mask=field_mask_pb2.FieldMask(paths=mask)
                )
            )
        assert violated_fields(caught.value) == [path]
    updated = await tuned.UpdateTunedModel(
        tuned_model_service_pb2.UpdateTunedModelRequest(
            tuned_model=change, update_mask=field_mask_pb2.FieldMask(paths=["display_name"])
        )
    )
    assert updated.display_name == "new" and updated.description == ""


async def test_delete_then_not_found(tuned: Any) -> None:
    await create(tuned, new_model(), "gone")
    await tuned.DeleteTunedModel(
        tuned_model_service_pb2.DeleteTunedModelRequest(name="tunedModels/gone")
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tuned.GetTunedModel(
            tuned_model_service_pb2.GetTunedModelRequest(name="tunedModels/gone")
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_other_principal_sees_not_found(tuned: Any, state: ServerState) -> None:
    state.api_keys.update({"a": "alice", "b": "bob"})
    await tuned.CreateTunedModel(
        tuned_model_service_pb2.CreateTunedModelRequest(
            tuned_model_id="priv", tuned_model=new_model()
        ),
        metadata=[("x-api-key", "a")],
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await tuned.GetTunedModel(
            tuned_model_service_pb2.GetTunedModelRequest(name="tunedModels/priv"),
            metadata=[("x-api-key", "b")],
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_update_while_tuning_is_kept(env: Env) -> None:
    # The job writes a snapshot per step and the final state; the caller's change made
    # between two steps survives both (every write is a compare-and-set on the store).
    source = new_model(
        examples=4, hyperparameters=tuned_model_pb2.Hyperparameters(epoch_count=1, batch_size=1)
    )
    created = await env.tuned.CreateTunedModel(
        tuned_model_service_pb2.CreateTunedModelRequest(tuned_model_id="busy", tuned_model=source),
        metadata=as_user(ALICE),
    )
    await env.clock.advance(1.5)  # two of the four steps
    await env.tuned.UpdateTunedModel(
        tuned_model_service_pb2.UpdateTunedModelRequest(
            tuned_model=TunedModel(name="tunedModels/busy", description="renamed mid-way"),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=as_user(ALICE),
    )
    await env.clock.advance(1.5)
    assert (await env.get(created.name)).done
    model = await env.tuned.GetTunedModel(
        tuned_model_service_pb2.GetTunedModelRequest(name="tunedModels/busy"),
        metadata=as_user(ALICE),
    )
    assert model.description == "renamed mid-way"
    assert model.state == TunedModel.ACTIVE
    assert [snapshot.step for snapshot in model.tuning_task.snapshots] == [1, 2, 3, 4]


async def test_concurrent_creates_of_one_id_have_one_winner(env: Env) -> None:
    request = tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model_id="twice", tuned_model=new_model()
    )
    outcomes = await asyncio.gather(
        *(env.tuned.CreateTunedModel(request, metadata=as_user(ALICE)) for _ in range(5)),
        return_exceptions=True,
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, grpc.aio.AioRpcError)]
    assert len(failures) == 4
    assert {failure.code() for failure in failures} == {grpc.StatusCode.ALREADY_EXISTS}
    listed = await env.ops.ListOperations(
        operations_pb2.ListOperationsRequest(name="tunedModels/twice/operations"),
        metadata=as_user(ALICE),
    )
    assert len(listed.operations) == 1  # the losers started no job
