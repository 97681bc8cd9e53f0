"""FakeServer: sync and async lifecycles, seeds, resets, API keys and the manual clock."""

from __future__ import annotations

import asyncio
from typing import cast

import grpc
import pytest
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from textgen.v1 import (
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    model_service_pb2,
    model_service_pb2_grpc,
    tuned_model_pb2,
    tuned_model_service_pb2,
    tuned_model_service_pb2_grpc,
)

from tests.testing import requests
from textgen.server.clock import ManualClock
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_server import FakeServer
from textgen.testing.pacing import Progression, ProgressionMode


def _operations(channel: grpc.Channel | grpc.aio.Channel) -> operations_pb2_grpc.OperationsStub:
    return operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]


def test_sync_server_answers_on_its_target() -> None:
    with FakeServer() as fake:
        assert fake.target == f"127.0.0.1:{fake.port}"
        with grpc.insecure_channel(fake.target) as channel:
            stub = model_service_pb2_grpc.ModelServiceStub(channel)
            response = stub.GenerateText(requests.generate_text())
    assert response.candidates[0].output


def test_stopped_server_has_no_target() -> None:
    fake = FakeServer()
    with fake:
        pass
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.target


async def test_async_server_runs_on_the_running_loop() -> None:
    async with FakeServer() as fake, fake.aio_channel() as channel:
        stub = cast(
            "model_service_pb2_grpc.ModelServiceAsyncStub",
            model_service_pb2_grpc.ModelServiceStub(channel),
        )
        model = await stub.GetModel(model_service_pb2.GetModelRequest(name=requests.TEXT_MODEL))
    assert model.name == requests.TEXT_MODEL


async def test_async_server_takes_the_async_helpers() -> None:
    async with FakeServer(clock="manual") as fake:
        with pytest.raises(RuntimeError, match="_async"):
            fake.reset()
        await fake.advance_async(1)
        await fake.reset_async()


async def test_async_server_journals_scripts_and_advances() -> None:
    async with FakeServer(clock="manual") as fake, fake.aio_channel() as channel:
        tuned = cast(
            "tuned_model_service_pb2_grpc.TunedModelServiceAsyncStub",
            tuned_model_service_pb2_grpc.TunedModelServiceStub(channel),
        )
        operations = _operations(channel)
        fake.script("CreateTunedModel").fail(grpc.StatusCode.UNAVAILABLE)
        with pytest.raises(grpc.aio.AioRpcError):
            await tuned.CreateTunedModel(requests.create_tuned_model())
        created = await tuned.CreateTunedModel(requests.create_tuned_model())
        fake.journal.assert_called("CreateTunedModel", times=2)

        await fake.advance_async(fake.progression.job_seconds)
        get = operations_pb2.GetOperationRequest(name=created.name)
        assert (await operations.GetOperation(get)).done

        await fake.reset_async()
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await operations.GetOperation(get)
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(RuntimeError, match="stop_async"):
            fake.stop()


def test_engine_option() -> None:
    engine = FakeEngine(seed=9)
    assert FakeServer(engine=engine).state.engine is engine


def _tuned_names(seed: int) -> tuple[str, str]:
    with FakeServer(seed=seed) as fake, fake.channel() as channel:
        stub = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
        operation = stub.CreateTunedModel(requests.create_tuned_model())
        listed = stub.ListTunedModels(tuned_model_service_pb2.ListTunedModelsRequest())
        return listed.tuned_models[0].name, operation.name


def test_same_seed_gives_same_ids() -> None:
    first = _tuned_names(7)
    assert first == _tuned_names(7)
    assert first[0].startswith("tunedModels/my-model")
    assert first[1].startswith(f"{first[0]}/operations/")


def test_manual_clock_advances_tuning_to_done() -> None:
    with FakeServer(clock="manual") as fake, fake.channel() as channel:
        assert isinstance(fake.clock, ManualClock)
        assert fake.progression.mode is ProgressionMode.DURATION
        tuned = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
        operations = _operations(channel)
        created = tuned.CreateTunedModel(requests.create_tuned_model())
        get = operations_pb2.GetOperationRequest(name=created.name)
        assert not operations.GetOperation(get).done

        fake.advance(fake.progression.job_seconds)

        done = operations.GetOperation(get)
        assert done.done, done
        model = tuned_model_pb2.TunedModel()
        assert done.response.Unpack(model)
        assert model.state == tuned_model_pb2.TunedModel.ACTIVE


def test_advance_needs_a_manual_clock() -> None:
    with FakeServer() as fake, pytest.raises(TypeError, match="manual"):
        fake.advance(1)


def test_progression_is_a_setting() -> None:
    with FakeServer(progression=Progression.immediate()) as fake, fake.channel() as channel:
        operations = _operations(channel)
        tuned = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
        created = tuned.CreateTunedModel(requests.create_tuned_model())
        done = operations.WaitOperation(operations_pb2.WaitOperationRequest(name=created.name))
        assert done.done
        fake.progression = Progression.after_polls()
        assert fake.pacer.progression.mode is ProgressionMode.POLLS


def test_reset_clears_everything_and_reseeds() -> None:
    with FakeServer(seed=3) as fake, fake.channel() as channel:
        tuned = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
        datasets = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        operations = _operations(channel)
        first = tuned.CreateTunedModel(requests.create_tuned_model())
        datasets.CreateDataset(requests.create_dataset("kept"))
        fake.script("GetDataset").fail(grpc.StatusCode.INTERNAL, times=5)

        fake.reset()

        assert fake.journal.calls() == []
        with pytest.raises(grpc.RpcError) as missing:
            datasets.GetDataset(dataset_service_pb2.GetDatasetRequest(name="datasets/kept"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # not the scripted INTERNAL
        listed = operations.ListOperations(operations_pb2.ListOperationsRequest())
        assert list(listed.operations) == []
        again = tuned.CreateTunedModel(requests.create_tuned_model())
        assert again.name == first.name  # ids start over from the seed


def test_api_keys_map_to_principals() -> None:
    with FakeServer(api_keys={"secret": "alice"}) as fake, fake.channel() as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        request = model_service_pb2.GetModelRequest(name=requests.TEXT_MODEL)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetModel(request)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert stub.GetModel(request, metadata=(("x-api-key", "secret"),)).name


async def test_sync_server_can_be_used_and_closed_inside_a_running_loop() -> None:
    """A blocking `with FakeServer()` inside async code (its loop runs on its own thread)."""
    with FakeServer() as fake, fake.channel() as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        model = stub.GetModel(model_service_pb2.GetModelRequest(name="models/text-bison-001"))
        assert model.name == "models/text-bison-001"
    assert asyncio.get_running_loop().is_running()
