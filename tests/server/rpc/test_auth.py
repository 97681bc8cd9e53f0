"""API keys: principals, UNAUTHENTICATED, and other principals' resources as NOT_FOUND."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from textgen.v1 import dataset_pb2, dataset_service_pb2, model_service_pb2

from textgen.server.rpc.auth import api_key, principal_for_key
from textgen.server.rpc.errors import ServiceError
from textgen.server.state import DEFAULT_PRINCIPAL, ServerState

KEYS = {"key-a": "alice", "key-b": "bob"}


def test_key_from_metadata() -> None:
    assert api_key([("x-api-key", "k1")]) == "k1"
    assert api_key([("authorization", "Bearer k2")]) == "k2"
    assert api_key([("other", "v")]) is None


def test_principals() -> None:
    assert principal_for_key({}, None) == DEFAULT_PRINCIPAL
    assert principal_for_key(KEYS, "key-a") == "alice"
    for key in (None, "wrong"):
        with pytest.raises(ServiceError) as caught:
            principal_for_key(KEYS, key)
        assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED


async def test_missing_key_is_unauthenticated(models: Any, state: ServerState) -> None:
    state.api_keys.update(KEYS)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.ListModels(model_service_pb2.ListModelsRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    listed = await models.ListModels(
        model_service_pb2.ListModelsRequest(), metadata=[("authorization", "Bearer key-b")]
    )
    assert listed.models


async def test_other_principals_dataset_is_not_found(datasets: Any, state: ServerState) -> None:
    state.api_keys.update(KEYS)
    created = await datasets.CreateDataset(
        dataset_service_pb2.CreateDatasetRequest(
            dataset_id="mine", rows=[dataset_pb2.DatasetPrompt(text="hi")]
        ),
        metadata=[("x-api-key", "key-a")],
    )
    request = dataset_service_pb2.GetDatasetRequest(name=created.name)
    assert (await datasets.GetDataset(request, metadata=[("x-api-key", "key-a")])).name
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.GetDataset(request, metadata=[("x-api-key", "key-b")])
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await datasets.ListDatasets(
        dataset_service_pb2.ListDatasetsRequest(), metadata=[("x-api-key", "key-b")]
    )
    assert not listed.datasets
