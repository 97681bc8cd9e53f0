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
    assert api_key([("x-goog-api-key", "k3")]) == "k3"
    assert api_key([("authorization", "Api-Key k4")]) == "k4"
    assert api_key([("other", "v")]) is None


def test_header_names_and_schemes_ignore_case() -> None:
    assert api_key([("X-Goog-Api-Key", "k1")]) == "k1"
    assert api_key([("Authorization", "api-key k2")]) == "k2"
    assert api_key([("authorization", "BEARER  k3 ")]) == "k3"


def test_what_is_not_a_key() -> None:
    assert api_key(None) is None
    assert api_key([("x-api-key", "")]) is None
    assert api_key([("authorization", "Basic dXNlcjpwYXNz")]) is None
    assert api_key([("authorization", "Api-Key")]) is None
    assert api_key([("authorization", "Bearer ")]) is None
    assert api_key([("x-goog-api-key-bin", b"k")]) is None


def test_precedence_between_forms() -> None:
    forms = [
        ("authorization", "Bearer from-bearer"),
        ("authorization", "Api-Key from-api-key"),
        ("x-goog-api-key", "from-goog"),
        ("x-api-key", "from-ours"),
    ]
    # Whatever the order they arrive in, ours wins, then Google's, Api-Key, and Bearer.
    for expected in ("from-ours", "from-goog", "from-api-key", "from-bearer"):
        assert api_key(forms) == expected
        assert api_key(list(reversed(forms))) == expected
        forms = [(name, value) for name, value in forms if not value.endswith(expected)]


def test_first_value_of_a_repeated_header_wins() -> None:
    # Google's client sends its own x-goog-api-key after one passed with the call.
    assert api_key([("x-goog-api-key", "call"), ("x-goog-api-key", "channel")]) == "call"
    assert api_key([("authorization", "Bearer a"), ("authorization", "Bearer b")]) == "a"


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


@pytest.mark.parametrize(
    "metadata",
    [
        ("x-api-key", "key-b"),
        ("x-goog-api-key", "key-b"),
        ("authorization", "Api-Key key-b"),
        ("authorization", "Bearer key-b"),
    ],
    ids=["x-api-key", "x-goog-api-key", "api-key-scheme", "bearer-scheme"],
)
async def test_every_form_authenticates_a_call(
    metadata: tuple[str, str], datasets: Any, state: ServerState
) -> None:
    state.api_keys.update(KEYS)
    created = await datasets.CreateDataset(
        dataset_service_pb2.CreateDatasetRequest(rows=[dataset_pb2.DatasetPrompt(text="hi")]),
        metadata=[metadata],
    )
    # The dataset belongs to bob, whichever form carried his key.
    request = dataset_service_pb2.GetDatasetRequest(name=created.name)
    assert (await datasets.GetDataset(request, metadata=[("x-api-key", "key-b")])).name
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.GetDataset(request, metadata=[("x-goog-api-key", "key-a")])
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_unknown_key_in_any_form_is_unauthenticated(
    models: Any, state: ServerState
) -> None:
    state.api_keys.update(KEYS)
    for metadata in (("x-goog-api-key", "wrong"), ("authorization", "Api-Key wrong")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await models.ListModels(model_service_pb2.ListModelsRequest(), metadata=[metadata])
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert caught.value.details() == "API key not valid"


def test_the_missing_key_message_names_every_form() -> None:
    with pytest.raises(ServiceError) as caught:
        principal_for_key(KEYS, None)
    message = caught.value.status.message
    for form in ("x-api-key", "x-goog-api-key", "authorization: Api-Key", "authorization: Bearer"):
        assert form in message


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
