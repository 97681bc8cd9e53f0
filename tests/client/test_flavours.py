"""The client in the Generative Language flavour: the paths and metadata a server sees, the
methods it refuses locally, and the routing derived from the descriptors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textgen.v1 import model_service_pb2, tuned_model_service_pb2

import textgen
import textgen.contract  # loads every service into the pool
from tests.client.conftest import Api
from textgen import _calls, _routes, _transport, _waiting, apis, errors
from textgen.resources import models as models_resource
from textgen.retry import RetryPolicy
from textgen.testing.fake_server import FakeServer
from textgen.testing.pacing import Progression

APIS = ("generativelanguage",)
FAKE_SERVER: dict[str, Any] = {"api_keys": {"k-1": "alice"}}
PROGRESSION = Progression.immediate()
GL = "google.ai.generativelanguage.v1beta"
TUNING = [("1", "I"), ("2", "II"), ("3", "III")]


async def test_the_server_sees_the_upstream_paths_and_metadata(live: Api, fake: FakeServer) -> None:
    client = live.other(api_key="k-1")
    assert client.client.api == "generativelanguage"
    await client(lambda c: c.models.get("text-bison-001"))
    await client(lambda c: c.models.generate_text("text-bison-001", "hello"))
    await client.items(lambda c: c.models.stream_generate_content("gemini-1.5-flash", "hi"))
    await client.items(lambda c: c.models.list())
    op = await client(
        lambda c: c.tuned_models.create(
            "gemini-1.0-pro-001", TUNING, epoch_count=1, tuned_model_id="t-one"
        )
    )
    tuned = await client(lambda c: op.result(timeout=15))
    await client(lambda c: c.tuned_models.update(tuned.name, description="roman"))

    seen = [(call.path, call.api, call.metadata) for call in fake.journal.calls()]
    paths = [path for path, _, _ in seen]
    assert paths[:5] == [
        f"/{GL}.ModelService/GetModel",
        f"/{GL}.TextService/GenerateText",
        f"/{GL}.GenerativeService/StreamGenerateContent",
        f"/{GL}.ModelService/ListModels",
        f"/{GL}.ModelService/CreateTunedModel",
    ]
    # No WaitOperation in this flavour: the operation is polled with GetOperation.
    assert "/google.longrunning.Operations/WaitOperation" not in paths
    assert paths[-1] == f"/{GL}.ModelService/UpdateTunedModel"
    # google.longrunning.Operations has one name for every flavour; the rest are Google's.
    assert {api for path, api, _ in seen if path.startswith(f"/{GL}.")} == {"generativelanguage"}
    assert all(path.startswith((f"/{GL}.", "/google.longrunning.")) for path in paths)
    for _, _, metadata in seen:
        keys = [name for name, _ in metadata]
        assert ("x-goog-api-key", "k-1") in metadata and "x-api-key" not in keys

    def routing(path: str) -> list[Any]:
        return [
            value
            for p, _, md in seen
            if p == path
            for n, value in md
            if n == _routes.ROUTING_HEADER
        ]

    # The routing header, as the official client sends it (none where the template has none).
    assert routing(f"/{GL}.ModelService/GetModel") == ["name=models/text-bison-001"]
    assert routing(f"/{GL}.TextService/GenerateText") == ["model=models/text-bison-001"]
    assert routing(f"/{GL}.GenerativeService/StreamGenerateContent") == [
        "model=models/gemini-1.5-flash"
    ]
    assert routing(f"/{GL}.ModelService/ListModels") == []
    assert routing(f"/{GL}.ModelService/CreateTunedModel") == []
    assert routing(f"/{GL}.ModelService/UpdateTunedModel") == [f"tuned_model.name={tuned.name}"]
    assert routing("/google.longrunning.Operations/GetOperation") == [
        f"name={op.name}" for p, _, _ in seen if p.endswith("/GetOperation")
    ]


async def test_methods_the_flavour_lacks_fail_before_any_network_call(
    live: Api, fake: FakeServer
) -> None:
    with pytest.raises(errors.UnsupportedByApi) as caught:
        await live(lambda c: c.datasets.get("datasets/d"))
    assert (caught.value.method, caught.value.api) == ("GetDataset", "generativelanguage")
    assert "GetDataset is not offered by the 'generativelanguage' API" in str(caught.value)
    with pytest.raises(errors.UnsupportedByApi, match="ListDatasets"):
        await live.items(lambda c: c.datasets.list())
    with pytest.raises(errors.UnsupportedByApi, match="StreamGenerateText"):
        await live.items(lambda c: c.models.stream_generate_text("text-bison-001", "hi"))
    with pytest.raises(errors.UnsupportedByApi, match="Dataset"):
        await live(lambda c: c.datasets.create([{"text": "a"}]))
    assert fake.journal.calls() == []
    # It is a usage error, not a status from a server.
    assert isinstance(caught.value, errors.UsageError)
    assert not isinstance(caught.value, errors.APIError)


async def test_typed_errors_are_unchanged(live: Api, fake: FakeServer) -> None:
    with pytest.raises(errors.NotFound) as caught:
        await live.other(api_key="k-1")(lambda c: c.models.get("no-such-model"))
    assert caught.value.method == f"/{GL}.ModelService/GetModel"
    with pytest.raises(errors.Unauthenticated):
        await live.other(api_key="wrong")(lambda c: c.models.get("text-bison-001"))


def test_the_retry_config_names_the_flavours_streams() -> None:
    routing = _routes.routing("generativelanguage")
    methods = routing.grpc_retried(_calls.grpc_retried_methods)()
    config = json.loads(_transport.service_config(RetryPolicy(), methods))
    named = {(n["service"], n["method"]) for c in config["methodConfig"] for n in c["name"]}
    assert (f"{GL}.GenerativeService", "StreamGenerateContent") in named
    # StreamGenerateText is ours alone, so the flavour's config does not name it.
    assert not any(method == "StreamGenerateText" for _, method in named)
    ours = _routes.routing("textgen").grpc_retried(_calls.grpc_retried_methods)()
    assert models_resource.STREAM_GENERATE_TEXT in ours


def test_routing_fields_come_from_the_http_templates() -> None:
    fields = {
        m.canonical.rsplit("/", 1)[-1]: _routes.routing_fields(m.descriptor)
        for m in apis.get("generativelanguage").methods()
    }
    assert fields["GenerateContent"] == ("model",)
    assert fields["GetTunedModel"] == ("name",)
    assert fields["UpdateTunedModel"] == ("tuned_model.name",)
    assert fields["ListModels"] == fields["CreateTunedModel"] == ()
    assert fields["GetOperation"] == ("name",)


def test_routed_metadata_escapes_like_the_official_client() -> None:
    routing = _routes.routing("generativelanguage")
    update = tuned_model_service_pb2.UpdateTunedModelRequest()
    update.tuned_model.name = "tunedModels/a b"
    method, metadata = routing.prepare(
        textgen.resources.tuned_models.UPDATE_TUNED_MODEL, update, (("x", "y"),)
    )
    assert method.path == f"/{GL}.ModelService/UpdateTunedModel"
    assert metadata == (("x", "y"), (_routes.ROUTING_HEADER, "tuned_model.name=tunedModels/a+b"))
    request = model_service_pb2.GetModelRequest(name="models/m")
    assert routing.prepare(models_resource.GET_MODEL, request, ())[1] == (
        (_routes.ROUTING_HEADER, "name=models/m"),
    )
    with pytest.raises(errors.UnsupportedByApi):
        routing.route(_waiting.WAIT_OPERATION)


def test_unknown_flavour_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown API"):
        textgen.Client("127.0.0.1:1", api="nonesuch")


async def test_with_options_keeps_the_flavour(live: Api, fake: FakeServer) -> None:
    client = live.other(api_key="k-1")
    copy = client.client.with_options(timeout=5)
    assert copy.api == "generativelanguage"
    assert "api='generativelanguage'" in repr(copy)
    model = await client(lambda c: c.with_options(timeout=5).models.get("text-bison-001"))
    assert model.name == "models/text-bison-001"
    assert fake.journal.last().path == f"/{GL}.ModelService/GetModel"
