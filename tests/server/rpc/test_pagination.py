"""Page sizes, signed page tokens and iterating every page."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from textgen.v1 import dataset_pb2, dataset_service_pb2, model_service_pb2

from tests.server.conftest import violated_fields
from textgen.server.rpc.errors import ServiceError
from textgen.server.rpc.pagination import decode_token, encode_token, paginate
from textgen.server.state import ServerState
from textgen.server.storage import DatasetRecord, RowBlock

SECRET = b"s" * 32


def test_default_clamp_and_negative() -> None:
    items = list(range(2000))
    page = paginate(items, page_size=0, page_token="", default_size=10, secret=SECRET, binding={})
    assert page.items == list(range(10))
    big = paginate(items, page_size=5000, page_token="", default_size=10, secret=SECRET, binding={})
    assert len(big.items) == 1000
    with pytest.raises(ServiceError) as caught:
        paginate(items, page_size=-1, page_token="", default_size=10, secret=SECRET, binding={})
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_tampered_and_rebound_tokens_are_rejected() -> None:
    token = encode_token(10, secret=SECRET, binding={"filter": "a"})
    assert decode_token(token, secret=SECRET, binding={"filter": "a"}) == 10
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad, binding in [(tampered, {"filter": "a"}), (token, {"filter": "b"}), ("junk", {})]:
        with pytest.raises(ServiceError) as caught:
            decode_token(bad, secret=SECRET, binding=binding)
        assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(ServiceError):
        decode_token(token, secret=b"other", binding={"filter": "a"})


async def test_list_models_pages(models: Any) -> None:
    names: list[str] = []
    token = ""
    while True:
        page = await models.ListModels(
            model_service_pb2.ListModelsRequest(page_size=3, page_token=token)
        )
        names.extend(m.name for m in page.models)
        token = page.next_page_token
        if not token:
            break
    everything = await models.ListModels(model_service_pb2.ListModelsRequest())
    assert names == [m.name for m in everything.models]


async def test_negative_page_size_over_grpc(models: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.ListModels(model_service_pb2.ListModelsRequest(page_size=-1))
    assert violated_fields(caught.value) == ["page_size"]


async def test_tampered_token_over_grpc(models: Any) -> None:
    page = await models.ListModels(model_service_pb2.ListModelsRequest(page_size=2))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.ListModels(
            model_service_pb2.ListModelsRequest(page_size=2, page_token=page.next_page_token + "x")
        )
    assert violated_fields(caught.value) == ["page_token"]


async def test_row_token_bound_to_dataset(datasets: Any, state: ServerState) -> None:
    for name in ("datasets/a", "datasets/b"):
        rows = RowBlock.of_prompts(dataset_pb2.DatasetPrompt(text=str(i)) for i in range(250))
        dataset = dataset_pb2.Dataset(name=name, kind=dataset_pb2.Dataset.KIND_PROMPTS)
        await state.stores.datasets.create(DatasetRecord(dataset, "default"), [rows])
    first = await datasets.ListDatasetRows(
        dataset_service_pb2.ListDatasetRowsRequest(dataset="datasets/a")
    )
    assert len(first.rows) == 100  # the default for rows
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.ListDatasetRows(
            dataset_service_pb2.ListDatasetRowsRequest(
                dataset="datasets/b", page_token=first.next_page_token
            )
        )
    assert violated_fields(caught.value) == ["page_token"]
