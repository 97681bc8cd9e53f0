"""ModelResolver: base models are remembered per (name, RPC); everything a request can
change is still checked on every call."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from textgen.v1 import model_service_pb2, text_pb2, tuned_model_pb2

from tests.server.conftest import violated_fields
from textgen.server.state import ServerState
from textgen.server.storage import TunedModelRecord
from textgen.server.storage.table import modify
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine

TEXT = "models/text-bison-001"
TUNABLE = "models/gemini-1.0-pro-001"
TUNED = "tunedModels/my-model"


def text_request(model: str = TEXT, **fields: Any) -> model_service_pb2.GenerateTextRequest:
    return model_service_pb2.GenerateTextRequest(
        model=model, prompt=text_pb2.TextPrompt(text="hello"), **fields
    )


async def failure(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def test_a_remembered_model_still_gets_the_request_checked(models: Any) -> None:
    await models.GenerateText(text_request())
    error = await failure(models.GenerateText(text_request(temperature=5.0)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == ["temperature"]


async def test_the_supported_method_is_checked_per_rpc(models: Any) -> None:
    await models.GenerateText(text_request())
    request = model_service_pb2.GenerateContentRequest(model=TEXT)
    request.contents.add(role="user").parts.add(text="hello")
    error = await failure(models.GenerateContent(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_tuned_model_is_looked_up_on_every_call(models: Any, state: ServerState) -> None:
    model = tuned_model_pb2.TunedModel(
        name=TUNED, base_model=TUNABLE, state=tuned_model_pb2.TunedModel.ACTIVE
    )
    base = state.base_models()[TUNABLE]
    await state.stores.tuned_models.create(TunedModelRecord(model, "default", base, (("a", "b"),)))
    request = model_service_pb2.GenerateContentRequest(model=TUNED)
    request.contents.add(role="user").parts.add(text="hello")
    await models.GenerateContent(request)

    def deactivate(record: TunedModelRecord) -> TunedModelRecord:
        record.model.state = tuned_model_pb2.TunedModel.CREATING
        return record

    await modify(state.stores.tuned_models, "default", TUNED, deactivate)
    error = await failure(models.GenerateContent(request))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_new_catalog_is_seen_at_once(models: Any, state: ServerState) -> None:
    await models.GenerateText(text_request())
    state.engine = FakeEngine(catalog=[default_model("models/gemini-1.5-flash")])
    error = await failure(models.GenerateText(text_request()))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_get_model_remembers_only_what_it_found(models: Any, state: ServerState) -> None:
    found = await models.GetModel(model_service_pb2.GetModelRequest(name=TEXT))
    assert found.name == TEXT
    error = await failure(models.GetModel(model_service_pb2.GetModelRequest(name="bad name")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == ["name"]
    state.engine = FakeEngine(catalog=[default_model("models/gemini-1.5-flash")])
    error = await failure(models.GetModel(model_service_pb2.GetModelRequest(name=TEXT)))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_get_model_describes_a_tuned_model_in_any_state(
    models: Any, state: ServerState
) -> None:
    model = tuned_model_pb2.TunedModel(
        name=TUNED,
        base_model=TEXT,
        display_name="Sentence translator",
        description="Turns sentences around.",
        temperature=0.1,
        state=tuned_model_pb2.TunedModel.CREATING,
    )
    base = state.base_models()[TEXT]
    await state.stores.tuned_models.create(TunedModelRecord(model, "default", base, (("a", "b"),)))
    found = await models.GetModel(model_service_pb2.GetModelRequest(name=TUNED))
    assert (found.name, found.display_name, found.description) == (
        TUNED,
        "Sentence translator",
        "Turns sentences around.",
    )
    # The base's family, limits and generation methods; the tuned model's own temperature,
    # the base's other defaults.
    assert (found.base_model_id, found.version) == ("text-bison", "001")
    assert (found.input_token_limit, found.output_token_limit) == (
        base.input_token_limit,
        base.output_token_limit,
    )
    assert list(found.supported_generation_methods) == list(base.supported_generation_methods)
    assert round(found.temperature, 4) == 0.1
    assert (found.top_p, found.top_k) == (base.top_p, base.top_k)


async def test_get_model_of_a_missing_or_bad_tuned_name(models: Any) -> None:
    error = await failure(models.GetModel(model_service_pb2.GetModelRequest(name=TUNED)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    bad = model_service_pb2.GetModelRequest(name="tunedModels/Bad Name")
    error = await failure(models.GetModel(bad))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == ["name"]
