"""The client reads operations whose payloads an upstream flavour named: an upstream type URL
unpacks into our class, so operations started through Google's names still give typed
metadata and results."""

from __future__ import annotations

import pytest
from google.longrunning import operations_pb2
from google.protobuf import any_pb2
from textgen.v1 import model_pb2, tuned_model_pb2, tuned_model_service_pb2

import textgen
from tests.testing import requests
from textgen import _anys
from textgen.testing import FakeServer, Progression

GL = "google.ai.generativelanguage.v1beta"


def packed_as(message: tuned_model_pb2.TunedModel, name: str) -> any_pb2.Any:
    return any_pb2.Any(type_url=f"type.googleapis.com/{name}", value=message.SerializeToString())


def test_an_upstream_name_of_our_type_unpacks_into_ours() -> None:
    tuned = tuned_model_pb2.TunedModel(name="tunedModels/x")
    found = _anys.unpack(packed_as(tuned, f"{GL}.TunedModel"), tuned_model_pb2.TunedModel)
    assert found == tuned
    assert _anys.unpack_any(packed_as(tuned, f"{GL}.TunedModel")) == tuned
    assert _anys.message_class(f"{GL}.TunedModel") is tuned_model_pb2.TunedModel


def test_another_type_is_still_refused() -> None:
    tuned = tuned_model_pb2.TunedModel(name="tunedModels/x")
    with pytest.raises(TypeError, match=f"expected textgen.v1.Model, found {GL}.TunedModel"):
        _anys.unpack(packed_as(tuned, f"{GL}.TunedModel"), model_pb2.Model)
    with pytest.raises(TypeError):
        _anys.unpack(packed_as(tuned, f"{GL}.Model"), tuned_model_pb2.TunedModel)


def test_the_client_follows_an_operation_started_through_google_names() -> None:
    with FakeServer(progression=Progression.immediate()) as fake, fake.channel() as channel:
        create = channel.unary_unary(
            f"/{GL}.ModelService/CreateTunedModel",
            request_serializer=tuned_model_service_pb2.CreateTunedModelRequest.SerializeToString,
            response_deserializer=operations_pb2.Operation.FromString,
        )
        started = create(requests.create_tuned_model(tuned_model_id="g"), timeout=10)
        assert started.metadata.type_url.endswith(f"{GL}.CreateTunedModelMetadata")

        with textgen.Client(fake.target) as client:
            operation = client.operations.get(started.name)
            tuned = operation.result(timeout=10)
            assert isinstance(tuned, tuned_model_pb2.TunedModel)
            assert tuned.name == "tunedModels/g"
            metadata = operation.metadata
            assert isinstance(metadata, tuned_model_service_pb2.CreateTunedModelMetadata)
            assert metadata.tuned_model == "tunedModels/g"
